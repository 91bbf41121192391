#!/bin/bash
# User data runs once, as root, on the instance's first boot.
# The ECS agent reads /etc/ecs/ecs.config when it starts, and ECS_CLUSTER there
# names the cluster it registers the instance with (without it: the cluster "default").
# TODO: append the line ECS_CLUSTER={cluster} to /etc/ecs/ecs.config.
