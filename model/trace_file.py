"""Trace files as pyarrow tables: `.parquet` (the main format) or `.csv` (trace/SCHEMA.md, "CSV
layout": a header row, one line per event, null = an empty unquoted field, "" = an empty
string, RFC 4180 quoting, then a trailing block of `# key=value` metadata lines), so every
Python tool reads what `scx_oracle` writes and reads. Errors name the file and the problem."""
from pathlib import Path

import numpy as np

from .errors import BadInput

# Arrow types of the schema's columns (trace/SCHEMA.md, "Rows").
TYPES = {"ts_ns": "uint64", "cpu": "uint32", "event": "string", "prev_pid": "int32",
         "prev_tgid": "int32", "prev_comm": "string", "prev_prio": "int32",
         "prev_state": "string", "next_pid": "int32", "next_tgid": "int32",
         "next_comm": "string", "next_prio": "int32", "nr_running": "uint32",
         "target_cpu": "uint32", "prev_runtime_ns": "uint64"}


def trace_path(path):
    """`path` as a Path, or BadInput when it is not a .parquet or .csv file."""
    path = Path(path)
    if path.suffix not in (".parquet", ".csv"):
        raise BadInput(f"{path}: not a trace file (.parquet or .csv); text traces are converted "
                       f"with `scx_oracle import`")
    return path


def read_table(path, columns=None):
    """The trace's rows (only `columns`, if given) with its metadata in the schema."""
    path = trace_path(path)
    if path.suffix == ".csv":
        return _read_csv(path, columns)
    import pyarrow.parquet as pq
    try:
        table = pq.read_table(path, columns=columns)
    except Exception as e:
        raise BadInput(f"{path}: not a Parquet trace ({e})")
    check_types(path, table)
    return table


def check_types(path, table):
    """Column types as trace/src/reader/parquet.rs takes them, so both encoders read the same
    files: the 64-bit columns as 64-bit integers; the 32-bit ones as any integer type (pyarrow,
    polars and pandas write int64) whose values fit the schema's; strings as strings."""
    import pyarrow as pa
    import pyarrow.compute as pc
    for name in table.column_names:
        want = TYPES.get(name)
        if want is None:
            continue
        typ = table.schema.field(name).type
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        if want == "string":
            ok = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        elif want.endswith("64"):
            ok = pa.types.is_integer(typ) and typ.bit_width == 64
        else:
            ok = pa.types.is_integer(typ)
        if not ok:
            raise BadInput(f"{path}: column {name} has type {typ}, expected {want}")
        if want.endswith("32") and typ.bit_width == 64 and table.num_rows:
            lo, hi = (pc.min_max(table.column(name))[k].as_py() for k in ("min", "max"))
            bound = getattr(np, want)   # np.int32 / np.uint32
            info = np.iinfo(bound)
            for v in (lo, hi):
                if v is not None and not info.min <= v <= info.max:
                    raise BadInput(f"{path}: column {name}: value {v} does not fit its {want} type")


def read_meta(path):
    """The trace's key-value metadata, str -> str (Parquet: from the footer alone)."""
    path = trace_path(path)
    if path.suffix == ".csv":
        return _csv_meta(path.read_text(errors="replace").splitlines())
    import pyarrow.parquet as pq
    try:
        return decoded(pq.read_schema(path).metadata)
    except Exception as e:
        raise BadInput(f"{path}: not a Parquet trace ({e})")


def decoded(metadata):
    """Arrow key-value metadata (bytes -> bytes, or None) as str -> str."""
    return {k.decode(): v.decode() for k, v in (metadata or {}).items()}


def _unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append({"\\": "\\", "n": "\n", "r": "\r"}.get(v[i + 1], v[i + 1]))
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def _csv_meta(lines):
    # As trace/src/reader/csv.rs reads them: the key trimmed, the value kept as written.
    meta = {}
    for line in lines:
        if line.startswith("#"):
            k, sep, v = line[1:].lstrip().partition("=")
            if sep:
                meta[k.strip()] = _unescape(v)
    return meta


def _fields(line):
    """One CSV line -> [str or None]: None for an empty unquoted field (null)."""
    out, i, n = [], 0, len(line)
    while True:
        if i < n and line[i] == '"':
            i += 1
            buf = []
            while i < n:
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(line[i])
                i += 1
            out.append("".join(buf))
        else:
            j = line.find(",", i)
            j = n if j < 0 else j
            out.append(line[i:j] or None)
            i = j
        if i >= n:
            return out
        if line[i] != ",":
            raise ValueError(f"text after a closing quote at column {i + 1}")
        i += 1


def _read_csv(path, columns):
    import pyarrow as pa
    lines = path.read_text(errors="replace").splitlines()
    meta = _csv_meta(lines)
    if meta.get("complete") != "true":
        raise BadInput(f"{path}: no complete=true in its metadata: a cut or unfinished trace")
    rows = [line for line in lines[1:] if not line.startswith("#")]
    header = _fields(lines[0]) if lines else []
    unknown = [h for h in header if h not in TYPES]
    if unknown:
        raise BadInput(f"{path}: not a schema-v1 trace: unknown column(s) {', '.join(map(str, unknown))}")
    cols = {h: [] for h in header}
    for lineno, line in enumerate(rows, 2):
        try:
            f = _fields(line)
        except ValueError as e:
            raise BadInput(f"{path}:{lineno}: {e}")
        if len(f) != len(header):
            raise BadInput(f"{path}:{lineno}: {len(f)} fields, the header has {len(header)}")
        for h, v in zip(header, f):
            cols[h].append(v)
    arrays = {}
    for h in (columns or header):
        if h not in cols:
            continue
        t = TYPES[h]
        vals = cols[h]
        if t != "string":
            try:
                vals = [None if v is None else int(v) for v in vals]
            except ValueError as e:
                raise BadInput(f"{path}: column {h}: {e}")
        try:
            arrays[h] = pa.array(vals, type=getattr(pa, t)())
        except (pa.ArrowInvalid, OverflowError) as e:
            raise BadInput(f"{path}: column {h}: {e}")
    table = pa.table(arrays)
    return table.replace_schema_metadata(meta)
