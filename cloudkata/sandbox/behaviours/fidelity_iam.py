"""IAM's service-linked role deletion as AWS does it.

Measured over HTTP against moto 5.2.5: ``DeleteServiceLinkedRole`` of a role the sandbox made
with ``CreateServiceLinkedRole`` (which, as on AWS, attaches the service's managed policy, see
``cloudkata.sandbox.fidelity``) was refused with ``DeleteConflict``, "Cannot delete entity,
must detach all policies first.": moto deletes it as an ordinary role. AWS deletes the role
with its policies, asynchronously, and answers a ``DeletionTaskId`` of the form
``task/aws-service-role/<service-principal-name>/<role-name>/<task-uuid>``, whose
``GetServiceLinkedRoleDeletionStatus`` is then ``SUCCEEDED`` (moto answers that for any task).
Here the role goes at once, so the deletion has succeeded by the time anyone asks.

Not simulated: AWS fails the deletion task (Status FAILED, with the resources in use) while
the service still uses the role, e.g. an ECS cluster for AWSServiceRoleForECS.
"""

from __future__ import annotations

from typing import Any

from .. import patches

SERVICE_ROLE_PATH = "/aws-service-role/"


def _patch_delete_service_linked_role() -> None:
    """Restore: a service-linked role is deleted with the policies it carries, and the
    deletion task id has AWS's form."""
    from moto.iam.models import IAMBackend

    @patches.wrap(IAMBackend, "delete_service_linked_role",
                  why="a service-linked role is deleted with its policies (moto refused it "
                      "while its managed policy was attached); AWS's DeletionTaskId form")
    def delete_service_linked_role(original: Any, self: Any, role_name: str) -> str:
        role = self.get_role(role_name)  # NoSuchEntity, as moto answers it
        path = str(getattr(role, "path", "") or "")
        if not path.startswith(SERVICE_ROLE_PATH):
            return str(original(self, role_name))
        for policy_arn in list(role.managed_policies):
            self.detach_role_policy(policy_arn, role_name)
        for policy_name in list(role.policies):
            self.delete_role_policy(role_name, policy_name)
        task = original(self, role_name)
        service = path[len(SERVICE_ROLE_PATH):].strip("/")
        return f"task/aws-service-role/{service}/{role.name}/{task}"


_patch_delete_service_linked_role()
