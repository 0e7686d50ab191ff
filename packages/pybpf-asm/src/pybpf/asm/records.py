"""Record classes: what ``@dataclass`` gives pybpf's public specs, at a fraction of its cost.

``@record()`` turns a class with annotated fields into a dataclass-like record:
a generated ``__init__`` (positional or keyword fields, defaults and
:func:`field` factories, ``__post_init__``), ``__repr__``, ``__eq__`` and
``__hash__`` by dataclasses' rules, ``__match_args__``, and with
``frozen=True`` assignment refused with :class:`dataclasses.FrozenInstanceError`;
``slots=True`` makes a slotted class. Copy, deep copy and pickle work.

Every process that loads an object defines the specs, and ``@dataclass``
costs about half a millisecond a class, on top of importing ``dataclasses``
(with ``inspect``, ``ast``, ``dis`` and ``tokenize``). A record imports none of
them and compiles only its ``__init__``, ``__eq__`` and ``__hash__``, each
when it is first used: the same code as a dataclass's, as fast per call.

The classes stay dataclasses to the standard library: ``dataclasses.fields()``,
``replace()``, ``asdict()``, ``astuple()`` and ``is_dataclass()`` work on them
and their instances. Their ``__dataclass_fields__`` is built (by applying
``dataclasses.dataclass`` to a twin class) when it is first read, which only
a caller that imported ``dataclasses`` does. pybpf's own code uses
:func:`fields` and :func:`replace` from here, which read the record's own
metadata. Type checkers see ``record`` as a dataclass transform (PEP 681).
Public for pybpf's own distributions (it sits in the lowest layer, which
they all depend on); no stability promise beyond dataclasses' behaviour.
"""

from __future__ import annotations

import sys
from _thread import get_ident

# Not typing.TYPE_CHECKING: this module is imported by every spec module, and
# typing's definitions are only for type checkers. Type checkers treat any name
# TYPE_CHECKING as true, and see typing's dataclass_transform.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**kwargs):
        """Typing's ``dataclass_transform``: marks the decorator, as typing's own does."""

        def mark(decorator):
            decorator.__dataclass_transform__ = kwargs
            return decorator

        return mark


__all__ = ["MISSING", "Field", "fields", "record", "replace"]


class _Sentinel:
    """A marker value, shown by its name."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: A field's ``default`` or ``default_factory`` when it has none.
MISSING: Any = _Sentinel("MISSING")
# The default of an argument whose field has a factory (``<factory>`` in
# signatures, as for a dataclass).
_FACTORY: Any = _Sentinel("<factory>")


class Field:
    """One field of a record, as :func:`fields` lists them.

    ``name`` and ``type`` (the annotation, a string under ``from __future__
    import annotations``) are those of the class; ``default`` and
    ``default_factory`` are :data:`MISSING` where not given; ``init``,
    ``repr`` and ``compare`` say whether the field is an ``__init__``
    argument, shown by ``repr()`` and compared by ``==`` and ``hash()``.
    """

    __slots__ = ("compare", "default", "default_factory", "init", "name", "repr", "type")

    name: str
    type: Any

    def __init__(
        self,
        default: Any,
        default_factory: Callable[[], Any] | Any,
        init: bool,
        repr: bool,
        compare: bool,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return (
            f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r}, "
            f"default_factory={self.default_factory!r}, init={self.init!r}, "
            f"repr={self.repr!r}, compare={self.compare!r})"
        )


def field(
    *,
    default: _T = MISSING,
    default_factory: Callable[[], _T] = MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
) -> _T:
    """A field's options, as ``dataclasses.field``: its default or default factory, and flags.

    ``default_factory`` is called for each instance (a new ``list`` per spec);
    ``repr=False`` leaves the field out of ``repr()``, ``compare=False`` out of
    ``==`` and ``hash()``, ``init=False`` out of ``__init__``'s arguments.
    """
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    # The class's annotation, not a Field, is the type checkers' view of the value.
    marker: Any = Field(default, default_factory, init, repr, compare)
    return marker  # type: ignore[no-any-return]


@dataclass_transform(field_specifiers=(field,))
def record(
    *, frozen: bool = False, eq: bool = True, slots: bool = False
) -> Callable[[type[_T]], type[_T]]:
    """The decorator that makes a class a record: ``@record()``, ``@record(frozen=True)``.

    ``frozen``, ``eq`` and ``slots`` mean what they mean to ``@dataclass``.
    Fields are the class's own annotations (``ClassVar`` ones excepted),
    after those of its bases that are records; ``__init__``, ``__repr__``,
    ``__eq__`` or ``__hash__`` defined in the class body win over the
    generated ones.
    """

    def make(cls: type[_T]) -> type[_T]:
        return _make_record(cls, frozen=frozen, eq=eq, slots=slots)

    return make


def fields(class_or_instance: object) -> tuple[Field, ...]:
    """The fields of a record class or instance, in ``__init__``'s order."""
    try:
        found: tuple[Field, ...] = class_or_instance.__record_fields__  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError(
            f"fields() needs a record class or instance, not {class_or_instance!r}"
        ) from None
    return found


def replace(obj: _T, /, **changes: Any) -> _T:
    """A new record like ``obj`` with ``changes``, made by its ``__init__``.

    As ``dataclasses.replace``: every init field not in ``changes`` keeps
    ``obj``'s value, and ``__post_init__`` runs again.
    """
    for f in fields(obj):
        if not f.init:
            if f.name in changes:
                raise ValueError(
                    f"field {f.name} is declared with init=False, "
                    "it cannot be specified with replace()"
                )
        elif f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    new: _T = obj.__class__(**changes)
    return new


def _make_record(cls: type[_T], *, frozen: bool, eq: bool, slots: bool) -> type[_T]:
    own = cls.__dict__
    collected: dict[str, Field] = {}
    record_bases = [b for b in cls.__mro__[-1:0:-1] if "__record_fields__" in b.__dict__]
    for base in record_bases:
        for f in base.__dict__["__record_fields__"]:
            collected[f.name] = f
    if record_bases:
        frozen_bases = [base.__dict__["__record_params__"][1] for base in record_bases]
        if any(frozen_bases) and not frozen:
            raise TypeError("cannot inherit non-frozen record from a frozen one")
        if not all(frozen_bases) and frozen:
            raise TypeError("cannot inherit frozen record from a non-frozen one")

    annotations = own.get("__annotations__")
    if annotations is None:
        annotations = cls.__annotations__
    for name, annotation in annotations.items():
        if _is_class_var(annotation):
            continue
        value = own.get(name, MISSING)
        if isinstance(value, Field):
            f = value
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        else:
            f = Field(value, MISSING, True, True, True)
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        f.name = name
        f.type = annotation
        collected[name] = f
    for name, value in own.items():
        if isinstance(value, Field) and name not in collected:
            raise TypeError(f"{name!r} is a field but has no type annotation")

    all_fields = tuple(collected.values())
    defaulted = False
    for f in all_fields:
        if not f.init:
            continue
        if f.default is not MISSING or f.default_factory is not MISSING:
            defaulted = True
        elif defaulted:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    if slots:
        cls = _with_slots(cls, all_fields, frozen=frozen)
        own = cls.__dict__
    record_class: Any = cls
    record_class.__record_fields__ = all_fields
    record_class.__record_params__ = (eq, frozen)
    for name in ("__dataclass_fields__", "__dataclass_params__"):
        setattr(cls, name, _DataclassView(cls, name))

    names = [f.name for f in all_fields]
    if "__init__" not in own:
        post_init = hasattr(cls, "__post_init__")
        _set(cls, "__init__", _InitOnFirstUse(cls, all_fields, frozen, slots, post_init))
    if "__repr__" not in own:
        _set(cls, "__repr__", _repr(cls, [f.name for f in all_fields if f.repr]))
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    wanted = []
    if eq and "__eq__" not in own:
        wanted.append("__eq__")
    if eq and not explicit_hash:
        if frozen:
            wanted.append("__hash__")
        else:
            _set(cls, "__hash__", None)
    if wanted:
        compared = [f.name for f in all_fields if f.compare]
        for method in _compared_methods(cls, compared, wanted):
            _set(cls, method.__name__, method)
    if frozen:
        for method in _frozen_methods(cls, frozenset(names)):
            if method.__name__ in own:
                raise TypeError(
                    f"Cannot overwrite attribute {method.__name__} in class {cls.__name__}"
                )
            _set(cls, method.__name__, method)
    if "__match_args__" not in own:
        _set(cls, "__match_args__", tuple(f.name for f in all_fields if f.init))
    return cls


def _is_class_var(annotation: object) -> bool:
    """Whether an annotation is ``ClassVar`` (a string, or typing's own object)."""
    if isinstance(annotation, str):
        head = annotation.partition("[")[0].strip()
        return head == "ClassVar" or head.endswith(".ClassVar")
    typing = sys.modules.get("typing")
    if typing is None:
        return False
    class_var = typing.ClassVar
    return annotation is class_var or getattr(annotation, "__origin__", None) is class_var


def _set(cls: type, name: str, value: Any, *, qualify: bool = True) -> None:
    """Set a generated attribute; a method made for ``cls`` takes its qualified name."""
    if qualify and callable(value):
        value.__qualname__ = f"{cls.__qualname__}.{value.__name__}"
    setattr(cls, name, value)


def _with_slots(cls: type[_T], all_fields: tuple[Field, ...], *, frozen: bool) -> type[_T]:
    """``cls`` made again with ``__slots__`` for its fields (a class cannot gain slots)."""
    namespace = dict(cls.__dict__)
    if "__slots__" in namespace:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    inherited: set[str] = set()
    for base in cls.__mro__[1:-1]:
        declared = base.__dict__.get("__slots__", ())
        inherited.update((declared,) if isinstance(declared, str) else declared)
    names = [f.name for f in all_fields]
    namespace["__slots__"] = tuple(name for name in names if name not in inherited)
    for name in names:
        namespace.pop(name, None)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    metaclass: Any = type(cls)
    new: type[_T] = metaclass(cls.__name__, cls.__bases__, namespace)
    new.__qualname__ = cls.__qualname__
    # Methods that call super() hold the class in a cell: point it at the new one.
    for value in namespace.values():
        for function in _functions(value):
            for cell in function.__closure__ or ():
                try:
                    if cell.cell_contents is cls:
                        cell.cell_contents = new
                except ValueError:  # an empty cell
                    continue
    if frozen:
        # Unpickling and copying set slots through setattr, which a frozen record refuses.
        if "__getstate__" not in namespace:
            _set(new, "__getstate__", _getstate, qualify=False)
        if "__setstate__" not in namespace:
            _set(new, "__setstate__", _setstate, qualify=False)
    return new


def _functions(value: object) -> list[Any]:
    """The plain functions behind a class attribute (a method, property or class method)."""
    if isinstance(value, classmethod | staticmethod):
        value = value.__func__
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if f is not None]
    return [value] if hasattr(value, "__closure__") else []


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in self.__record_fields__]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(self.__record_fields__, state, strict=False):
        object.__setattr__(self, f.name, value)


#: Instances a record class makes with the generic ``__init__`` before it compiles its own:
#: where compiling (~0.2-0.3 ms) pays for itself, at ~5 us saved an instance.
_COMPILE_AFTER = 48


class _InitOnFirstUse:
    """A record's ``__init__``: generic for its first instances, then the compiled one in its place.

    Compiling an ``__init__`` costs 0.1-0.4 ms a class, more than most
    processes' every use of it: a spec class a load makes once or twice pays
    that for nothing. Its first :data:`_COMPILE_AFTER` instances are made by a
    generic ``__init__`` reading the field table (a few microseconds each);
    the next instance, or any read of ``cls.__init__`` itself (as by
    ``inspect.signature()``), compiles the exact one and puts it in place.
    A call whose arguments do not bind goes to the compiled one as well, which
    raises the ``TypeError`` such a call gets from any function.
    """

    __slots__ = ("_cls", "_fields", "_frozen", "_made", "_names", "_post_init", "_slots")

    def __init__(
        self, cls: type, all_fields: tuple[Field, ...], frozen: bool, slots: bool, post_init: bool
    ) -> None:
        self._cls = cls
        self._fields = all_fields
        self._frozen = frozen
        self._slots = slots
        self._post_init = post_init
        self._made = 0
        #: The ``__init__`` arguments in order, as a set, and those without a default.
        names = tuple(f.name for f in all_fields if f.init)
        self._names = (
            names,
            frozenset(names),
            frozenset(
                f.name
                for f in all_fields
                if f.init and f.default is MISSING and f.default_factory is MISSING
            ),
        )

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None or self._made >= _COMPILE_AFTER:
            init = self._compiled()
            return init if instance is None else init.__get__(instance, owner)
        self._made += 1
        return _BoundInit(self, instance)

    def _compiled(self) -> Any:
        init = _init(
            self._cls,
            self._fields,
            frozen=self._frozen,
            slots=self._slots,
            post_init=self._post_init,
        )
        _set(self._cls, "__init__", init)
        return init

    def make(self, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Set ``obj``'s fields from ``args`` and ``kwargs`` as the compiled ``__init__`` would."""
        names, known, required = self._names
        given = dict(zip(names, args, strict=False))
        if (
            len(args) > len(names)
            or not given.keys().isdisjoint(kwargs)
            or not kwargs.keys() <= known
        ):
            self._compiled()(obj, *args, **kwargs)  # raises the call's TypeError
            return
        given.update(kwargs)
        if not required <= given.keys():
            self._compiled()(obj, *args, **kwargs)
            return
        assign = object.__setattr__ if self._frozen else setattr
        for f in self._fields:
            if f.init and f.name in given:
                value = given[f.name]
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            elif f.default is not MISSING and (f.init or self._slots):
                value = f.default
            else:
                continue
            assign(obj, f.name, value)
        if self._post_init:
            obj.__post_init__()


class _BoundInit:
    """The generic ``__init__`` of :class:`_InitOnFirstUse`, bound to the instance being made."""

    __slots__ = ("_init", "_obj")

    def __init__(self, init: _InitOnFirstUse, obj: object) -> None:
        self._init = init
        self._obj = obj

    def __call__(*args: Any, **kwargs: Any) -> None:
        # No named self: a field may be called "self" and come as a keyword.
        bound, *rest = args
        bound._init.make(bound._obj, tuple(rest), kwargs)


def _init(
    cls: type, all_fields: tuple[Field, ...], *, frozen: bool, slots: bool, post_init: bool
) -> Any:
    """The ``__init__`` of a record, compiled for its fields (as fast as dataclasses').

    One flat function, its defaults set afterwards and the factories read as
    globals of its own: compiling is most of a record's cost, and a nested
    function binding every default compiles in twice the time.
    """
    names = {f.name for f in all_fields}
    self_name = "__record_self__" if "self" in names else "self"
    env: dict[str, Any] = {
        "__name__": cls.__module__,
        "__record_factory__": _FACTORY,
        "__record_setattr__": object.__setattr__,
    }
    parameters: list[str] = [self_name]
    defaults: list[Any] = []
    body: list[str] = []
    for i, f in enumerate(all_fields):
        factory = f"__record_factory_{i}__"
        if f.default_factory is not MISSING:
            env[factory] = f.default_factory
        if f.init:
            parameters.append(f.name)
            if f.default_factory is not MISSING:
                defaults.append(_FACTORY)
                value = f"{factory}() if {f.name} is __record_factory__ else {f.name}"
            elif f.default is not MISSING:
                defaults.append(f.default)
                value = f.name
            else:
                value = f.name
        elif f.default_factory is not MISSING:
            value = f"{factory}()"
        elif f.default is not MISSING and slots:
            # A slot has no class attribute to fall back on.
            env[f"__record_default_{i}__"] = f.default
            value = f"__record_default_{i}__"
        else:
            continue
        if frozen:
            body.append(f"__record_setattr__({self_name}, {f.name!r}, {value})")
        else:
            body.append(f"{self_name}.{f.name} = {value}")
    if post_init:
        body.append(f"{self_name}.__post_init__()")
    source = f"def __init__({', '.join(parameters)}):\n" + "".join(
        f" {line}\n" for line in body or ["pass"]
    )
    exec(source, env)
    init = env.pop("__init__")
    init.__defaults__ = tuple(defaults) or None
    # Argument errors name the code's qualified name: "MapSpec.__init__() missing ...".
    init.__code__ = init.__code__.replace(co_qualname=f"{cls.__qualname__}.__init__")
    init.__annotations__ = {f.name: f.type for f in all_fields if f.init} | {"return": None}
    return init


_COMPARED_SOURCE = {
    "__eq__": (
        "def __eq__(self, other):\n"
        " if other.__class__ is self.__class__:\n"
        "  return ({mine}) == ({theirs})\n"
        " return NotImplemented\n"
    ),
    "__hash__": "def __hash__(self):\n return hash(({mine}))\n",
}


def _compared_methods(cls: type, names: list[str], wanted: list[str]) -> list[Callable[..., Any]]:
    """``__eq__`` and/or ``__hash__`` by the fields ``names``, compiled when first called.

    Compiled as dataclasses' (the fields read inline, as fast as theirs), but
    only once a process compares or hashes an instance: most records of the
    load path are never compared, and compiling is most of a record's cost.
    """
    compiled: dict[str, Callable[..., Any]] = {}

    def compile_methods() -> dict[str, Callable[..., Any]]:
        if not compiled:
            mine = "".join(f"self.{name}," for name in names)
            theirs = "".join(f"other.{name}," for name in names)
            source = "".join(
                _COMPARED_SOURCE[method].format(mine=mine, theirs=theirs) for method in wanted
            )
            env: dict[str, Any] = {"__name__": cls.__module__}
            exec(source, env)
            for method in wanted:
                compiled[method] = env[method]
                _set(cls, method, env[method])
        return compiled

    def __eq__(self: object, other: object) -> Any:
        return compile_methods()["__eq__"](self, other)

    def __hash__(self: object) -> Any:
        return compile_methods()["__hash__"](self)

    stand_ins: dict[str, Callable[..., Any]] = {"__eq__": __eq__, "__hash__": __hash__}
    return [stand_ins[method] for method in wanted]


def _repr(cls: type, names: list[str]) -> Callable[[object], str]:
    running: set[tuple[int, int]] = set()

    def __repr__(self: object) -> str:
        # A record that holds itself shows "..." there, as a dataclass does.
        key = (id(self), get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _frozen_error(message: str) -> AttributeError:
    # Imported on this error path only: dataclasses costs milliseconds to import.
    from dataclasses import FrozenInstanceError  # noqa: PLC0415

    return FrozenInstanceError(message)


def _frozen_methods(cls: Any, names: frozenset[str]) -> tuple[Callable[..., None], ...]:
    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


class _DataclassView:
    """A record's ``__dataclass_fields__``/``__dataclass_params__``, made when first read.

    Only a caller of ``dataclasses`` reads them (``fields()``, ``replace()``,
    ``asdict()``, ``is_dataclass()``...): the first read applies
    ``dataclasses.dataclass`` to a twin of the record (its fields, defaults
    and flags, no methods) and keeps the twin's on the record class.
    """

    __slots__ = ("_name", "_owner")

    def __init__(self, owner: type, name: str) -> None:
        self._owner = owner
        self._name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        import dataclasses  # noqa: PLC0415 (only dataclasses' callers read this)

        cls = self._owner
        namespace: dict[str, Any] = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__annotations__": {},
        }
        for f in cls.__dict__["__record_fields__"]:
            namespace["__annotations__"][f.name] = f.type
            options: dict[str, Any] = {"init": f.init, "repr": f.repr, "compare": f.compare}
            if f.default is not MISSING:
                options["default"] = f.default
            if f.default_factory is not MISSING:
                options["default_factory"] = f.default_factory
            namespace[f.name] = dataclasses.field(**options)
        eq, frozen = cls.__dict__["__record_params__"]
        twin: Any = dataclasses.dataclass(eq=eq, frozen=frozen)(type(cls.__name__, (), namespace))
        record_class: Any = cls
        record_class.__dataclass_fields__ = twin.__dataclass_fields__
        record_class.__dataclass_params__ = twin.__dataclass_params__
        return getattr(cls, self._name)
