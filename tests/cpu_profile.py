"""Run a command as if on another CPU: make numpy, OpenBLAS, MKL, oneDNN and torch pick other kernels.

    python tests/cpu_profile.py baseline COMMAND [ARGS...]
    python tests/cpu_profile.py avx2 COMMAND [ARGS...]

Numerical libraries choose their kernels by the CPU they find (numpy's SIMD dispatch, OpenBLAS's core
type, MKL's code path, oneDNN's instruction set, torch's ATen capability). Another choice rounds sums
and matrix products differently in the last bits; a chaotic computation, or a training run close to
a threshold, then prints other numbers. A reader's laptop is exactly such a choice. `make test` runs
the notebooks a second time under the `baseline` profile, so that a printed value which depends on
one machine's arithmetic fails here rather than on a reader's machine.

Profiles:
    baseline  the oldest x86-64 code paths every library still has (SSE4): differs from the native
              choice on any machine with AVX2 or AVX-512
    avx2      AVX2 code paths: differs from the native choice on an AVX-512 machine

On other processors (ARM) the variables are ignored by the libraries; the command still runs.
The child sees RNNLAB_CPU_PROFILE set to the profile's name.
"""
from __future__ import annotations

import os
import sys

_NO_AVX512 = ("AVX512_SPR AVX512_ICL AVX512_SKX AVX512_CLX AVX512_CNL AVX512_KNL AVX512_KNM "
              "AVX512F AVX512CD X86_V4")

PROFILES: dict[str, dict[str, str]] = {
    "baseline": {
        "ATEN_CPU_CAPABILITY": "default",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "DNNL_MAX_CPU_ISA": "SSE41",
        "MKL_CBWR": "COMPATIBLE",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
        "OPENBLAS_CORETYPE": "Nehalem",
        "NPY_DISABLE_CPU_FEATURES": _NO_AVX512 + " X86_V3 AVX2 FMA3 F16C AVX",
    },
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "DNNL_MAX_CPU_ISA": "AVX2",
        "MKL_CBWR": "AVX2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": _NO_AVX512,
    },
}


def environment(profile: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of `base` (default: os.environ) with the variables of `profile` set.

    A machine that already sets OPENBLAS_CORETYPE keeps its value: some CPUs need it as a workaround
    for OpenBLAS bugs.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    env = dict(os.environ if base is None else base)
    for name, value in PROFILES[profile].items():
        if name == "OPENBLAS_CORETYPE" and env.get(name):
            continue
        env[name] = value
    env["RNNLAB_CPU_PROFILE"] = profile
    return env


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in PROFILES:
        print(__doc__, file=sys.stderr)
        return 2
    profile, command = argv[0], argv[1:]
    print(f"cpu_profile: running with the {profile!r} kernel profile", file=sys.stderr, flush=True)
    os.execvpe(command[0], command, environment(profile))
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
