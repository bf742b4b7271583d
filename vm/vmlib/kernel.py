"""Find the guest kernel: a user's bzImage, Debian's 7.3 cloud kernel fetched into the cache, or
(`debian:SERIES`) a stock Debian cloud kernel without sched_ext, for what must run on any kernel.

Debian kernels are only downloaded and unpacked (apt-get download + dpkg-deb -x), never installed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .paths import KERNEL_CACHE, HarnessError

# linux-binary-* holds vmlinuz; linux-base-* holds its config (they share a version).
SEARCH_RE = r"linux-binary-7\.3.*-cloud-amd64"
NAME_RE = re.compile(r"^linux-binary-(7\.3\.[0-9.]+\+deb13-cloud-amd64)$")


# Stock cloud kernels, one package each (vmlinuz and config under boot/): Debian 12's
# linux-image-6.1.0-50-cloud-amd64, its backports' and Debian 13's linux-image-6.12.117+deb12-...
STOCK_RE = re.compile(r"^linux-image-((\d+\.\d+)[.][0-9.]+(?:-\d+)?(?:\+deb\d+)?-cloud-amd64)$")


def log(msg):
    print(f"fetch-kernel: {msg}", file=sys.stderr)


def _version_key(flavour):
    """Every number before the Debian suffix: '7.3.10+deb13-cloud-amd64' -> (7, 3, 10) so
    7.3.10 sorts above 7.3.9; '6.1.0-50-cloud-amd64' -> (6, 1, 0, 50)."""
    return tuple(int(x) for x in re.findall(r"\d+", flavour.split("+")[0].removesuffix("-cloud-amd64")))


def _apt_names(pattern):
    """Package names apt knows matching `pattern`, or None when apt-cache cannot say."""
    try:
        out = subprocess.run(["apt-cache", "search", "--names-only", pattern],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        log(f"apt-cache search failed ({e}); falling back to the cache")
        return None
    return [line.split(" - ")[0].strip() for line in out.splitlines()]


def newest_flavour():
    """Newest 7.3.x cloud kernel apt knows about, or None (e.g. apt lists missing)."""
    # NAME_RE rejects the -unsigned and -dbg variants.
    flavours = [m.group(1) for m in map(NAME_RE.match, _apt_names(SEARCH_RE) or []) if m]
    return max(flavours, key=_version_key) if flavours else None


def _flavour_or_cached(flavour, state, missing):
    """`flavour`, else the one `state` recorded last time; HarnessError(`missing`) if neither."""
    if flavour is not None:
        return flavour
    if not state.is_file():
        raise HarnessError(missing)
    flavour = json.loads(state.read_text())["flavour"]
    log(f"using cached {flavour}")
    return flavour


def read_config(path):
    """Parse a kernel .config into {option: value}."""
    opts = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, v = line.split("=", 1)
            opts[k] = v
    return opts


def check_config(path):
    """Fail unless the kernel has sched_ext; report BTF. Returns a small summary dict."""
    try:
        opts = read_config(path)
    except OSError as e:
        raise HarnessError(f"cannot read kernel config {path}: {e}") from e
    if opts.get("CONFIG_SCHED_CLASS_EXT") != "y":
        raise HarnessError(f"kernel config {path} lacks CONFIG_SCHED_CLASS_EXT=y: "
                           "this kernel cannot run sched_ext schedulers")
    info = config_facts(path, opts)
    if not info["btf"]:
        log(f"warning: {path} lacks CONFIG_DEBUG_INFO_BTF=y; BPF CO-RE loading will fail")
    return info


def config_facts(path, opts):
    """What the harness reports of a kernel's config; with none (`path` None), None for each."""
    def has(option):
        return opts.get(option) == "y" if path else None
    return {"config": str(path) if path else None, "sched_ext": has("CONFIG_SCHED_CLASS_EXT"),
            "btf": has("CONFIG_DEBUG_INFO_BTF"), "rd_zstd": has("CONFIG_RD_ZSTD")}


def check_bzimage(path):
    """Clear errors for a missing/unreadable kernel; warn if it does not look like a bzImage."""
    p = Path(path)
    if not p.is_file():
        raise HarnessError(f"kernel image {p} does not exist (or is not a file)")
    try:
        with open(p, "rb") as f:
            head = f.read(0x210)
    except OSError as e:
        raise HarnessError(f"cannot read kernel image {p}: {e}") from e
    if head[0x202:0x206] == b"HdrS":
        return
    if head[:4] == b"\x7fELF":
        log(f"warning: {p} is an ELF vmlinux, not a bzImage; QEMU boots it only via PVH")
        return
    raise HarnessError(f"{p} is not a kernel image (no bzImage 'HdrS' header, not ELF)")


def _user_config_candidates(img):
    d = img.parent
    yield img.with_name(img.name + ".config")
    yield d / "config"
    yield d / ".config"
    if img.name.startswith("vmlinuz-"):
        yield d / ("config-" + img.name[len("vmlinuz-"):])
    # arch/x86/boot/bzImage inside a kernel build tree -> tree/.config
    if img.name == "bzImage" and d.name == "boot":
        yield d.parent.parent.parent / ".config"


def user_kernel(path):
    img = Path(path).expanduser().resolve()
    check_bzimage(img)
    for cand in _user_config_candidates(img):
        if cand.is_file():
            info = check_config(cand)
            break
    else:
        log(f"warning: no config beside {img}; sched_ext support can't be checked until boot")
        info = config_facts(None, {})
    return {"kernel": str(img), "source": "user", **info}


def _download(pkg, dest):
    """apt-get download pkg into dest (a temp dir the _apt user may write)."""
    os.chmod(dest, 0o777)
    r = subprocess.run(["apt-get", "download", "-q", pkg], cwd=dest, capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(f"apt-get download {pkg} failed:\n{r.stderr.strip()}")
    debs = list(Path(dest).glob(f"{pkg}_*.deb"))
    if not debs:
        raise HarnessError(f"apt-get download {pkg} produced no .deb")
    return debs[0]


def _fetch(flavour, dest):
    """Download and unpack kernel + config for flavour into dest (atomically)."""
    _unpack((f"linux-binary-{flavour}", f"linux-base-{flavour}"), dest)


def _unpack(pkgs, dest):
    """Download the packages and unpack them together into dest (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        tree = Path(tmp) / "tree"
        for pkg in pkgs:
            log(f"downloading {pkg}")
            deb = _download(pkg, tmp)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(tree, dest)


def _locate(tree, flavour):
    """vmlinuz/config sit under usr/lib/modules/<ver>/ (newer packages) or boot/ (older)."""
    for d, img, cfg in ((tree / "usr/lib/modules" / flavour, "vmlinuz", "config"),
                        (tree / "boot", f"vmlinuz-{flavour}", f"config-{flavour}")):
        if (d / img).is_file():
            return d / img, d / cfg
    raise HarnessError(f"no vmlinuz for {flavour} under {tree} (package layout changed?)")


def debian_kernel():
    state = KERNEL_CACHE / "current.json"
    flavour = _flavour_or_cached(newest_flavour(), state,
                                 "no linux-binary-7.3.*-cloud-amd64 package known to apt and none "
                                 "cached; run scripts/setup-host (it adds trixie-backports)")
    tree = KERNEL_CACHE / flavour
    try:
        img, cfg = _locate(tree, flavour)
        if not cfg.is_file():
            raise HarnessError("config missing")
    except HarnessError:
        _fetch(flavour, tree)
        img, cfg = _locate(tree, flavour)
    if not cfg.is_file():
        raise HarnessError(f"kernel config {cfg} missing from linux-base-{flavour}")
    check_bzimage(img)
    info = check_config(cfg)
    state.write_text(json.dumps({"flavour": flavour}) + "\n")
    return {"kernel": str(img), "source": "debian", "flavour": flavour, **info}


def stock_pick(names, series):
    """The newest stock cloud flavour of `series` ("6.1") among apt package names, or None:
    by every number before the Debian suffix, so 6.1.0-50 sorts above 6.1.0-47 and
    6.12.117 above 6.12.57; 6.1 does not match 6.12."""
    found = [m.group(1) for m in map(STOCK_RE.match, names) if m and m.group(2) == series]
    return max(found, key=_version_key) if found else None


def stock_kernel(series):
    """`debian:SERIES`: Debian's newest stock cloud kernel of that series (e.g. 6.1: Debian 12's
    CFS kernel, no bpf_rdonly_cast; 6.12: EEVDF; 6.16 and later: sched_ext too), cached like
    the 7.3 one. It need not have sched_ext (reported as "sched_ext"): scenarios that only
    trace (collect under the fair class, shadow) run on any of them."""
    if not re.fullmatch(r"\d+\.\d+", series):
        raise HarnessError(f"debian:{series}: want a kernel series such as debian:6.1 or debian:6.12")
    state = KERNEL_CACHE / f"stock-{series}.json"
    names = _apt_names(rf"^linux-image-{re.escape(series)}\..*-cloud-amd64$") or []
    flavour = _flavour_or_cached(stock_pick(names, series), state,
                                 f"no linux-image-{series}.*-cloud-amd64 package known to apt and none "
                                 "cached (Debian 12 has 6.1; 6.12 comes from bookworm-backports)")
    tree = KERNEL_CACHE / f"stock-{flavour}"
    try:
        img, cfg = _locate(tree, flavour)
    except HarnessError:
        # Up to 6.19 one package holds vmlinuz and config; from 7.0 linux-image only depends
        # on linux-binary (vmlinuz) and linux-base (config), as for 7.3, and apt may no
        # longer list an old linux-base (then the config is unknown).
        for pkgs in ((f"linux-image-{flavour}",), (f"linux-binary-{flavour}", f"linux-base-{flavour}"),
                     (f"linux-binary-{flavour}",)):
            try:
                _unpack(pkgs, tree)
                img, cfg = _locate(tree, flavour)
                break
            except HarnessError as e:
                err = e
        else:
            raise err
    check_bzimage(img)
    cfg = cfg if cfg.is_file() else None
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"flavour": flavour}) + "\n")
    return {"kernel": str(img), "source": "debian", "flavour": flavour,
            **config_facts(cfg, read_config(cfg) if cfg else {})}


def resolve(path=None):
    """The kernel to boot: --kernel PATH or debian:SERIES, else $SCX_ORACLE_KERNEL, else the
    Debian 7.3 package."""
    path = path or os.environ.get("SCX_ORACLE_KERNEL")
    if path and path.startswith("debian:"):
        return stock_kernel(path[len("debian:"):])
    return user_kernel(path) if path else debian_kernel()
