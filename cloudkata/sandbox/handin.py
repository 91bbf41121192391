"""Hand-in files: the sandbox's object graph as data only, safe to open whoever made it.

Why not pickle: an instructor imports files learners made, and a pickle names functions and
modules that run while it loads. This format is msgpack behind a versioned header, and nothing
in it can name code: a model object (moto's or ours) is a row naming its class, and the name
is only looked up in the checked-in allow-list (:mod:`.handin_classes`), never imported from
the file. An object is rebuilt with ``object.__new__`` (or the bare ``dict``/``list``/...
constructor it derives from) and its ``__dict__`` filled in directly: no ``__init__``,
``__setstate__`` or other method of a model class runs, and dict keys and set members may
only be data or objects hashed by identity. Decoding is total: damage is one StateFileError.

Layout: ``MAGIC | u32 header length | header (msgpack map) | payload (msgpack array)``, the
payload being ``[classes, methods, patterns, layouts, root, rows]``. Everything that can be
shared or cyclic (list, dict, set, OrderedDict, defaultdict, model object) is one row of a
table, written ``[REF, n]`` wherever it occurs: identity survives across backends (an Auto
Scaling backend points at the very EC2 backend beside it), and the file stays shallow however
deep the graph, so decoding needs no recursion beyond small inline values. An object's
attribute names are a shared "layout" (its class's usual set), not repeated per object.
"""

from __future__ import annotations

import datetime as dt
import enum
import gc
import importlib
import ipaddress
import math
import re
import struct
import sys
import types
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import Any

import msgpack

MAGIC = b"cloudkata-handin\n"
FORMAT = 3  # 1 and 2 were pickles
MAX_FILE = 64 * 1024 * 1024
MAX_HEADER = 64 * 1024
MAX_DEPTH = 32  # nesting of inline values (tuples, frozensets); rows need none
MAX_TEXT = 128  # decimal, date and address texts
MAX_BIGINT_TEXT = 4300  # Python's own limit on int() of a string
_HEADER_LEN = struct.Struct(">I")
_UNPACK = {"raw": False, "strict_map_key": True, "max_ext_len": 0, "max_map_len": 0,
           "max_array_len": 1 << 22, "max_str_len": MAX_FILE, "max_bin_len": MAX_FILE}
"""No maps or ext types in a payload at all; an array's claimed length is capped because
msgpack allocates it before reading its items (a string needs its bytes present first)."""
_UNPACK_HEADER = {"raw": False, "strict_map_key": True, "max_ext_len": 0, "max_map_len": 16,
                  "max_array_len": 256, "max_str_len": 4096, "max_bin_len": 0}
HEADER_TYPES: dict[str, type | tuple[type, ...]] = {
    "format": int, "moto": str, "saved": (int, float), "services": list}

# rows: containers that may be shared or cyclic
LIST, SET, DICT, ODICT, DDICT, OBJ = 1, 2, 3, 4, 5, 6
# inline values
(REF, TUPLE, FROZENSET, DATETIME, DATE, TIME, TIMEDELTA, DECIMAL, UUID, BIGINT, ENUM,
 PATTERN, IPADDR, IPNET, IPIFACE, METHOD) = range(10, 26)
ROW_TAGS = {list: LIST, set: SET, dict: DICT, OrderedDict: ODICT, defaultdict: DDICT}
FACTORIES: tuple[Any, ...] = (None, list, dict, set, int, str, float, OrderedDict)
"""The only default factories a defaultdict may have, written as their index."""
_PRIMITIVES = (str, int, float, bool, bytes, type(None))
_PLAIN = frozenset({str, float, bool, bytes, type(None)})  # written as they are
_BASES = (defaultdict, OrderedDict, dict, list, str, int, object)
_UNSUPPORTED = (enum.Enum, BaseException, type, tuple, bytes, bytearray, float, complex, set,
                frozenset)
"""Classes with these bases are never rebuilt as objects: enum members are looked up, the
rest have a layout that ``__dict__`` cannot describe."""


class StateFileError(ValueError):
    """The state file cannot be used; the message says why in one sentence."""


class UnencodableError(TypeError):
    """The state holds something the hand-in format has no data-only form for."""


def _check(condition: bool, why: str) -> None:
    if not condition:
        raise StateFileError(why)


def _quote(text: str) -> str:
    """A name from a file, safe to print (no control characters, bounded)."""
    return ascii(text[:100])


_VERSION_JUNK = re.compile(r"[^0-9A-Za-z.+-]")


def _dict_of(shell: Any) -> dict[str, Any]:
    """The instance dict, without going through a class's own ``__getattribute__``."""
    found: dict[str, Any] = object.__getattribute__(shell, "__dict__")
    return found


@contextmanager
def _no_gc() -> Iterator[None]:
    """The collector would rescan the whole sandbox heap many times over (3x the work)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- the allow-list, resolved from our own names only ---------------------------------------

class _Kind:
    """How a class is written and rebuilt without running its code."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.base: Any = next(b for b in _BASES if issubclass(cls, b))  # one of _BASES
        self.supported = not issubclass(cls, _UNSUPPORTED) and not issubclass(cls, bool)
        self.slots = {name: found for klass in cls.__mro__ if klass not in _BASES
                      for name, found in vars(klass).items()
                      if isinstance(found, types.MemberDescriptorType)
                      and name != "__weakref__"}
        self.has_dict = any("__dict__" in vars(klass) for klass in cls.__mro__
                            if klass is not object)
        self.finalizer = getattr(cls, "__del__", None) is not None
        hash_base = self.base if self.base in (str, int, object) else None
        self.identity_hash = hash_base is not None and (
            cls.__hash__ is hash_base.__hash__ and cls.__eq__ is hash_base.__eq__)

    def new(self, base: Any) -> Any:
        if self.base is object:
            return object.__new__(self.cls)
        if self.base in (str, int):
            _check(type(base) is self.base, "an object's value is damaged")
            return self.base.__new__(self.cls, base)
        shell = self.base.__new__(self.cls)
        if self.base is defaultdict:
            _check(type(base) is list and len(base) % 2 == 1, "an object is damaged")
            defaultdict.default_factory.__set__(shell, _factory(base[0]))  # type: ignore[misc, union-attr]  # on the class: the slot descriptor
        return shell


def class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve(name: str) -> Any:
    """Resolve a name of OUR allow-list (a name read from a file is never resolved)."""
    module, _, qualname = name.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


@cache
def allowed() -> tuple[frozenset[str], frozenset[str], frozenset[tuple[str, int]]]:
    from . import handin_classes

    return (frozenset(handin_classes.CLASSES), frozenset(handin_classes.METHODS),
            frozenset(handin_classes.PATTERNS))


@cache
def kind_of(cls: type) -> _Kind:
    return _Kind(cls)


@cache
def _class_kind(name: str) -> _Kind:
    _check(name in allowed()[0], f"it names a class that is not allowed: {_quote(name)}")
    try:
        cls = resolve(name)
    except (ImportError, AttributeError):
        raise StateFileError(f"its class {_quote(name)} does not exist here") from None
    _check(isinstance(cls, type), f"{_quote(name)} is not a class")
    return kind_of(cls)


@cache
def _allowed_kind(cls: type) -> _Kind | None:
    name = class_name(cls)
    if name not in allowed()[0]:
        return None
    kind = _class_kind(name)
    return kind if kind.cls is cls else None


@cache
def _method(name: str) -> tuple[type, Any]:
    _check(name in allowed()[1], f"it names a method that is not allowed: {_quote(name)}")
    module, _, qualname = name.partition(":")
    owner_name, _, attribute = qualname.rpartition(".")
    owner = resolve(f"{module}:{owner_name}")
    function = vars(owner).get(attribute)
    _check(isinstance(owner, type) and isinstance(function, types.FunctionType),
           f"{_quote(name)} is not a method")
    return owner, function


@cache
def _pattern(source: str, flags: int) -> re.Pattern[Any]:
    _check((source, flags) in allowed()[2], "it holds a regular expression that is not allowed")
    return re.compile(source, flags)


def _hashes_safely(found: Any, depth: int = 0) -> bool:
    """Hashing it runs no model code: data, enum members, or objects hashed by identity."""
    t = type(found)
    if t in _SAFE_KEYS:
        return True
    if t is tuple or t is frozenset:
        return depth < MAX_DEPTH and all(_hashes_safely(x, depth + 1) for x in found)
    if issubclass(t, enum.Enum):
        return True
    kind = _allowed_kind(t)  # type: ignore[arg-type]  # a class is Hashable (mypy#11470)
    return kind is not None and kind.identity_hash


_SAFE_KEYS = frozenset({
    str, int, float, bool, bytes, type(None), dt.datetime, dt.date, dt.time, dt.timedelta,
    Decimal, uuid.UUID, ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
    ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface, re.Pattern})


# --- encoding ---------------------------------------------------------------------------------

class _Encoder:
    """Walks the graph breadth-first; every shareable object becomes one row."""

    def __init__(self, strict: bool) -> None:
        self.objects: list[Any] = []
        self.memo: dict[int, int] = {}
        self.tables: tuple[dict[Any, int], ...] = ({}, {}, {}, {})  # classes ... layouts
        self.strict = strict
        self.seen: set[type] = set()
        self.classes: dict[type, int] = {}
        self.inline: dict[type, Callable[[Any, int], list[Any]]] = {
            tuple: lambda o, d: [TUPLE, *(self.value(v, d + 1) for v in o)],
            frozenset: lambda o, d: [FROZENSET, *(self.key(v, d + 1) for v in o)],
            dt.datetime: lambda o, _: [DATETIME, o.isoformat()],
            dt.date: lambda o, _: [DATE, o.isoformat()],
            dt.time: lambda o, _: [TIME, o.isoformat()],
            dt.timedelta: lambda o, _: [TIMEDELTA, o.days, o.seconds, o.microseconds],
            Decimal: lambda o, _: [DECIMAL, _bounded(str(o))],
            uuid.UUID: lambda o, _: [UUID, o.bytes],
            re.Pattern: lambda o, _: [PATTERN, self.table(2, (o.pattern, o.flags))],
            ipaddress.IPv4Address: lambda o, _: [IPADDR, o.packed],
            ipaddress.IPv6Address: lambda o, _: [IPADDR, o.packed],
            ipaddress.IPv4Network: lambda o, _: [IPNET, str(o)],
            ipaddress.IPv6Network: lambda o, _: [IPNET, str(o)],
            ipaddress.IPv4Interface: lambda o, _: [IPIFACE, str(o)],
            ipaddress.IPv6Interface: lambda o, _: [IPIFACE, str(o)],
            types.MethodType: self.method,
        }

    def table(self, which: int, key: Any) -> int:
        found = self.tables[which]
        index = found.get(key)
        if index is None:
            if self.strict and which < 3 and key not in allowed()[which]:
                raise UnencodableError(f"not in the hand-in allow-list: {key}")
            index = found[key] = len(found)
        return index

    def value(self, o: Any, depth: int = 0) -> Any:
        t = type(o)
        if t is str or t is float or t is bool or o is None or t is bytes:
            return o
        if t is int:
            return o if -(1 << 63) <= o < (1 << 64) else [BIGINT, str(o)]
        if t not in ROW_TAGS:
            if depth >= MAX_DEPTH:
                raise UnencodableError(f"values nested deeper than {MAX_DEPTH}")
            handler = self.inline.get(t)
            if handler is not None:
                return handler(o, depth)
            if isinstance(o, enum.Enum):
                if type(o.value) not in _PRIMITIVES:
                    raise UnencodableError(f"{class_name(t)} has values that are not data")
                return [ENUM, self.table(0, class_name(t)), o.value]
            if self.strict and _allowed_kind(t) is None:  # type: ignore[arg-type]  # a class is Hashable (mypy#11470)
                raise UnencodableError(f"not in the hand-in allow-list: {class_name(t)}")
            if not kind_of(t).supported:  # type: ignore[arg-type]  # a class is Hashable (mypy#11470)
                raise UnencodableError(f"{class_name(t)} cannot be written as data")
            self.seen.add(t)
        index = self.memo.get(id(o))
        if index is None:
            index = self.memo[id(o)] = len(self.objects)
            self.objects.append(o)
        return [REF, index]

    def key(self, o: Any, depth: int = 0) -> Any:
        if type(o) is not str and not _hashes_safely(o):
            raise UnencodableError(f"a key or set member hashes by running code: {type(o)}")
        return self.value(o, depth)

    def method(self, o: Any, depth: int) -> list[Any]:
        function = o.__func__
        name = f"{function.__module__}:{function.__qualname__}"
        index = self.table(1, name)
        if self.strict and _method(name)[1] is not function:
            raise UnencodableError(f"{name} is not the method it names")
        return [METHOD, self.value(o.__self__, depth + 1), index]

    def pairs(self, out: list[Any], items: Any) -> list[Any]:
        append, value, key = out.append, self.value, self.key
        for k, v in items:
            append(k if type(k) is str else key(k))
            append(v if type(v) in _PLAIN else value(v))
        return out

    def row(self, o: Any) -> list[Any]:
        t = type(o)
        value = self.value
        if t is dict:
            return self.pairs([DICT], o.items())
        if t is list:
            return [LIST, *[v if type(v) in _PLAIN else value(v) for v in o]]
        if t is set:
            return [SET, *[self.key(v) for v in o]]
        if t is OrderedDict:
            return self.pairs([ODICT], o.items())
        if t is defaultdict:
            return self.pairs([DDICT, _factory_index(o.default_factory)], o.items())
        kind = kind_of(t)  # type: ignore[arg-type]  # a class is Hashable (mypy#11470)
        state = vars(o) if kind.has_dict else {}
        if kind.slots:
            state = dict(state)
            for name, slot in kind.slots.items():
                if hasattr(o, name):
                    state[name] = slot.__get__(o)
        names = tuple(state)
        layouts = self.tables[3]
        layout = layouts.get(names)
        if layout is None:
            if not all(type(name) is str for name in names):
                raise UnencodableError(f"a {class_name(t)} has attributes that are not names")
            layout = layouts[names] = len(layouts)
        class_index = self.classes.get(t)
        if class_index is None:
            class_index = self.classes[t] = self.table(0, class_name(t))
        base: Any = None
        if kind.base in (dict, OrderedDict):
            base = self.pairs([], dict.items(o))
        elif kind.base is defaultdict:
            base = self.pairs([_factory_index(o.default_factory)], dict.items(o))
        elif kind.base is list:
            base = [value(v) for v in list.__iter__(o)]
        elif kind.base in (str, int):
            base = kind.base(o)
        return [OBJ, class_index, layout, base,
                *[v if type(v) in _PLAIN else value(v) for v in state.values()]]

    def encode(self, root: Any) -> list[Any]:
        top = self.value(root)
        rows = []
        index = 0
        while index < len(self.objects):
            rows.append(self.row(self.objects[index]))
            index += 1
        classes, methods, patterns, layouts = (list(found) for found in self.tables)
        return [classes, methods, [list(p) for p in patterns], [list(n) for n in layouts],
                top, rows]


def _bounded(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise UnencodableError(f"a decimal longer than {MAX_TEXT} characters")
    return text


def _factory_index(factory: Any) -> int:
    for index, known in enumerate(FACTORIES):
        if factory is known:
            return index
    raise UnencodableError(f"a defaultdict's default factory is not data: {factory!r}")


def encode_graph(root: Any, strict: bool = True) -> tuple[bytes, set[type]]:
    """The payload for ``root`` and the classes met (``strict``: refuse any not allowed)."""
    encoder = _Encoder(strict)
    try:
        with _no_gc():
            payload = encoder.encode(root)
            return msgpack.packb(payload, use_bin_type=True, datetime=False), encoder.seen
    except RecursionError:
        raise UnencodableError("the state is nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # msgpack: e.g. a str with lone surrogates
        raise UnencodableError(f"the state holds a value msgpack cannot write: {exc}") from None


def dumps(header: dict[str, Any], root: Any) -> bytes:
    """A whole hand-in file: magic, header, payload. Raises UnencodableError."""
    payload, _ = encode_graph(root)
    head = msgpack.packb({"format": FORMAT, **header}, use_bin_type=True)
    return MAGIC + _HEADER_LEN.pack(len(head)) + head + payload


# --- decoding ---------------------------------------------------------------------------------

def read_header(data: bytes, moto: str) -> tuple[dict[str, Any], bytes]:
    """The validated header and the payload's bytes (``moto``: the version we run)."""
    _check(isinstance(data, bytes | bytearray), "it is not bytes")
    _check(len(data) <= MAX_FILE, f"it is larger than {MAX_FILE >> 20} MiB")
    _check(data.startswith(MAGIC), "it is not a cloudkata hand-in file")
    start = len(MAGIC) + _HEADER_LEN.size
    _check(len(data) >= start, "its header is damaged")
    (length,) = _HEADER_LEN.unpack_from(data, len(MAGIC))
    _check(length <= MAX_HEADER and start + length <= len(data), "its header is damaged")
    header = _unpack(bytes(data[start:start + length]), _UNPACK_HEADER, "its header is damaged")
    _check(type(header) is dict and set(header) == set(HEADER_TYPES), "its header is damaged")
    for key, kind in HEADER_TYPES.items():
        _check(isinstance(header[key], kind) and type(header[key]) is not bool,
               f"its header's {key} is damaged")
    if header["format"] != FORMAT:
        raise StateFileError(f"it has format {header['format']}, this cloudkata reads "
                             f"format {FORMAT}")
    if header["moto"] != moto:
        theirs = _VERSION_JUNK.sub("?", header["moto"][:40])
        raise StateFileError(f"it was saved with moto {theirs}, this sandbox runs moto {moto}")
    _check(math.isfinite(header["saved"]), "its header's saved time is damaged")
    services = header["services"]
    _check(all(type(s) is str for s in services) and len(set(services)) == len(services),
           "its header's services are damaged")
    return header, bytes(data[start + length:])


def _unpack(blob: bytes, options: dict[str, Any], why: str) -> Any:
    try:
        return msgpack.unpackb(blob, **options)
    except (ValueError, TypeError, msgpack.UnpackException, MemoryError, RecursionError):
        raise StateFileError(why) from None


def loads(data: bytes, moto: str,
          check: Callable[[Any, dict[str, Any]], Any] | None = None) -> tuple[dict[str, Any], Any]:
    """Header and object graph of a hand-in file; anything wrong is a StateFileError.

    ``check(root, header)`` may refuse the graph (its result is returned instead of the
    root): a refused graph is defused before it is dropped, so that no finalizer of a model
    class (moto's EC2 Instance has one) runs on the file's data as it is collected.
    """
    header, payload = read_header(data, moto)
    with _no_gc():
        parts = _unpack(payload, _UNPACK, "its contents are damaged")
        decoder = _Decoder()
        try:
            root = decoder.decode(parts)
            return header, (check(root, header) if check else root)
        except BaseException as exc:
            decoder.defuse()
            if isinstance(exc, StateFileError):
                raise
            if isinstance(exc, RecursionError):
                raise StateFileError("its contents are nested too deeply") from None
            if isinstance(exc, Exception):  # only our code and builtins ran on the file
                raise StateFileError(
                    f"its contents are damaged ({type(exc).__name__})") from None
            raise


class _Decoder:
    """Two passes over the rows: make every shell, then fill them (refs may point ahead)."""

    def __init__(self) -> None:
        self.shells: list[Any] = []
        self.mortal: list[Any] = []  # objects whose class has a finalizer

    def defuse(self) -> None:
        for shell in self.mortal:
            _dict_of(shell).clear()
        self.shells.clear()

    def decode(self, parts: Any) -> Any:
        self.tables(parts)
        self.shells = [self.shell(row) for row in self.rows]
        for row, shell in zip(self.rows, self.shells, strict=True):
            self.fill(row, shell)
        return self.value(self.top)

    def tables(self, parts: Any) -> None:
        _check(type(parts) is list and len(parts) == 6, "its contents are damaged")
        classes, methods, patterns, layouts, self.top, self.rows = parts
        _check(all(type(t) is list for t in (classes, methods, patterns, layouts, self.rows)),
               "its contents are damaged")
        _check(all(type(n) is str for n in classes + methods), "its class table is damaged")
        self.kinds = [_class_kind(name) for name in classes]
        self.methods = [_method(name) for name in methods]
        _check(all(type(p) is list and len(p) == 2 and type(p[0]) is str and type(p[1]) is int
                   for p in patterns), "its pattern table is damaged")
        self.patterns = [_pattern(source, flags) for source, flags in patterns]
        _check(all(type(names) is list and all(type(n) is str for n in names)
                   for names in layouts), "its attribute names are damaged")
        self.layouts = [tuple(sys.intern(n) for n in names) for names in layouts]
        self.inline: dict[int, Callable[[list[Any], int], Any]] = {
            REF: self._ref, TUPLE: lambda v, d: tuple(self.value(x, d + 1) for x in v[1:]),
            FROZENSET: lambda v, d: frozenset(self.key(x, d + 1) for x in v[1:]),
            DATETIME: lambda v, _: dt.datetime.fromisoformat(_text(v)),
            DATE: lambda v, _: dt.date.fromisoformat(_text(v)),
            TIME: lambda v, _: dt.time.fromisoformat(_text(v)),
            TIMEDELTA: _timedelta, DECIMAL: lambda v, _: Decimal(_text(v)), UUID: _uuid,
            BIGINT: _bigint, ENUM: self._enum, PATTERN: self._pattern, IPADDR: _ipaddr,
            IPNET: lambda v, _: ipaddress.ip_network(_text(v)),
            IPIFACE: lambda v, _: ipaddress.ip_interface(_text(v)), METHOD: self._method,
        }

    def shell(self, row: Any) -> Any:
        _check(type(row) is list and len(row) >= 1 and type(row[0]) is int, "a row is damaged")
        tag = row[0]
        if tag == LIST:
            return []
        if tag == SET:
            return set()
        if tag == DICT:
            return {}
        if tag == ODICT:
            return OrderedDict()
        if tag == DDICT:
            _check(len(row) >= 2, "a row is damaged")
            return defaultdict(_factory(row[1]))
        _check(tag == OBJ, "a row has an unknown type")
        _check(len(row) >= 4 and type(row[1]) is int and 0 <= row[1] < len(self.kinds)
               and type(row[2]) is int and 0 <= row[2] < len(self.layouts)
               and len(row) - 4 == len(self.layouts[row[2]]), "an object is damaged")
        kind = self.kinds[row[1]]
        _check(kind.supported, "an object's class cannot be rebuilt from data")
        shell = kind.new(row[3])
        if kind.finalizer and kind.has_dict:
            self.mortal.append(shell)
        return shell

    def fill(self, row: list[Any], shell: Any) -> None:
        tag = row[0]
        value = self.value
        if tag == LIST:
            shell.extend([v if type(v) is not list else value(v) for v in row[1:]])
        elif tag == SET:
            shell.update([self.key(v) for v in row[1:]])
        elif tag in (DICT, DDICT):
            self.pairs(row, 1 if tag == DICT else 2, dict.__setitem__, shell)
        elif tag == ODICT:
            self.pairs(row, 1, OrderedDict.__setitem__, shell)
        else:
            self.fill_object(row, shell)

    def fill_object(self, row: list[Any], shell: Any) -> None:
        kind = self.kinds[row[1]]
        names = self.layouts[row[2]]
        value = self.value
        values = [v if type(v) is not list else value(v) for v in row[4:]]
        if kind.slots:
            for name, found in zip(names, values, strict=True):
                slot = kind.slots.get(name)
                if slot is not None:
                    slot.__set__(shell, found)
                else:
                    _check(kind.has_dict, "an object has attributes its class cannot hold")
                    _dict_of(shell)[name] = found
        elif names:
            _check(kind.has_dict, "an object has attributes its class cannot hold")
            _dict_of(shell).update(zip(names, values, strict=True))
        base = row[3]
        if kind.base in (dict, OrderedDict, defaultdict):
            _check(type(base) is list, "an object is damaged")
            setter = OrderedDict.__setitem__ if kind.base is OrderedDict else dict.__setitem__
            self.pairs(base, 1 if kind.base is defaultdict else 0, setter, shell)
        elif kind.base is list:
            _check(type(base) is list, "an object is damaged")
            list.extend(shell, [self.value(v) for v in base])
        else:
            _check(kind.base is not object or base is None, "an object is damaged")

    def pairs(self, flat: list[Any], start: int, setter: Callable[[Any, Any, Any], None],
              target: Any) -> None:
        _check((len(flat) - start) % 2 == 0, "a mapping is damaged")
        key, value = self.key, self.value
        for index in range(start, len(flat), 2):
            setter(target, key(flat[index]), value(flat[index + 1]))

    def value(self, v: Any, depth: int = 0) -> Any:
        if type(v) is not list:
            return v  # msgpack gives only None, bool, int, float, str, bytes here (no maps, ext)
        if len(v) == 2 and v[0] == REF:  # the common case, inline
            index = v[1]
            if type(index) is int and 0 <= index < len(self.shells):
                return self.shells[index]
            raise StateFileError("a reference is dangling")
        _check(len(v) >= 1 and type(v[0]) is int, "a value is damaged")
        _check(depth < MAX_DEPTH, f"its values are nested deeper than {MAX_DEPTH}")
        handler = self.inline.get(v[0])
        _check(handler is not None, "a value has an unknown type")
        return handler(v, depth)  # type: ignore[misc]  # not None: _check above

    def key(self, v: Any, depth: int = 0) -> Any:
        """A value about to be hashed: only data, or objects hashed by identity."""
        if type(v) is str:
            return v
        found = self.value(v, depth)
        _check(_hashes_safely(found), "a key or set member is not hashable data")
        return found

    def _ref(self, v: list[Any], _: int) -> Any:
        _check(len(v) == 2 and type(v[1]) is int and 0 <= v[1] < len(self.shells),
               "a reference is dangling")
        return self.shells[v[1]]

    def _enum(self, v: list[Any], _: int) -> Any:
        _check(len(v) == 3 and type(v[1]) is int and 0 <= v[1] < len(self.kinds)
               and type(v[2]) in _PRIMITIVES, "an enum is damaged")
        cls = self.kinds[v[1]].cls
        _check(issubclass(cls, enum.Enum), "an enum names a class that is not one")
        for member in cls.__members__.values():
            if type(member.value) is type(v[2]) and member.value == v[2]:
                return member
        raise StateFileError(f"an enum value is unknown to {cls.__name__}")

    def _pattern(self, v: list[Any], _: int) -> Any:
        _check(len(v) == 2 and type(v[1]) is int and 0 <= v[1] < len(self.patterns),
               "a pattern is damaged")
        return self.patterns[v[1]]

    def _method(self, v: list[Any], depth: int) -> Any:
        _check(len(v) == 3 and type(v[2]) is int and 0 <= v[2] < len(self.methods),
               "a method is damaged")
        owner, function = self.methods[v[2]]
        bound_to = self.value(v[1], depth + 1)
        _check(issubclass(type(bound_to), owner), "a method is bound to the wrong object")
        return types.MethodType(function, bound_to)


def _factory(index: Any) -> Any:
    _check(type(index) is int and 0 <= index < len(FACTORIES), "a default factory is damaged")
    return FACTORIES[index]


def _text(v: list[Any]) -> str:
    _check(len(v) == 2 and type(v[1]) is str and len(v[1]) <= MAX_TEXT,
           "a value's text is damaged")
    return v[1]


def _timedelta(v: list[Any], _: int) -> dt.timedelta:
    _check(len(v) == 4 and all(type(x) is int for x in v[1:]), "a duration is damaged")
    return dt.timedelta(days=v[1], seconds=v[2], microseconds=v[3])


def _uuid(v: list[Any], _: int) -> uuid.UUID:
    _check(len(v) == 2 and type(v[1]) is bytes and len(v[1]) == 16, "a UUID is damaged")
    return uuid.UUID(bytes=v[1])


def _bigint(v: list[Any], _: int) -> int:
    _check(len(v) == 2 and type(v[1]) is str and len(v[1]) <= MAX_BIGINT_TEXT,
           "a number is damaged")
    return int(v[1])


def _ipaddr(v: list[Any], _: int) -> Any:
    _check(len(v) == 2 and type(v[1]) is bytes and len(v[1]) in (4, 16),
           "an address is damaged")
    return ipaddress.ip_address(v[1])
