#!/usr/bin/env bash
# Issue 16's comparison, MultiLora against transformers + peft on one GPU, in one call.
#
#   stage  (on the build machine, from the repository root):
#       benchmarks/gpu/run-comparison.sh stage [DIR]
#     publishes the benchmark app (managed assemblies + libLibTorchSharp.so; the CPU libtorch stays behind, the GPU
#     machine's Python PyTorch supplies a CUDA one), packs a .NET runtime, and copies this script and hf_anchor.py
#     into DIR (default .gpu, git-ignored), which must stay under the device tool's 64 MiB carry limit.
#   run    (on the GPU machine, e.g. the device tool with carry [".gpu"]):
#       bash .gpu/run-comparison.sh run [--presets all|NAME,...] [--steps 6] [--out DIR] [--skip-hf] [--cpu-small] [--device cuda|cpu] [--budget 560]
#     0. the fixture parity checks on the device (float32 with TF32 off within 1e-4, bf16 within the CPU bf16
#        tolerance): OUT/parity.txt (the fixture travels: tests/fixtures/tiny-llava is tracked);
#     1. checks in a process of its own that the CUDA allocator's statistics can be read (a wrong guess about
#        libtorch's layout could crash a process: then ours falls back to NVML sampling, and so does the table);
#     2. runs hf_anchor.py (every HF row in one Python process, as the reference figures were taken);
#     3. runs each of our rows in a process of its own (an out-of-memory row cannot spoil the next);
#     Every stage is cut at what is left of --budget seconds (default 560, inside the device tool's 600 s per call);
#     rows that did not run are written as errors saying so.
#     4. writes OUT/hf.jsonl, OUT/ours.jsonl, OUT/comparison.md (+ .json) and OUT/run.log (default OUT: $OUT, else runs/gpu-comparison).
#   The same `run` works from a repository checkout (uses the Release build and the dotnet on PATH): with
#   `--device cpu --cpu-small` it is the dry run CI-like machines can do (HF rows are skipped without torch).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-}; shift || true
max_stage_mib=60

stage() {
    local dir=${1:-.gpu}
    [ -f MultiLora.sln ] || { echo "stage: run from the repository root" >&2; exit 2; }
    rm -rf "$dir" && mkdir -p "$dir/app"
    local pub; pub=$(mktemp -d)
    dotnet publish benchmarks/MultiLora.Benchmarks/MultiLora.Benchmarks.csproj -c Release -o "$pub" --nologo -v q
    find "$pub" -maxdepth 1 -type f \( -name '*.dll' -o -name '*.json' \) -exec cp {} "$dir/app/" \;
    local bridge; bridge=$(find "$pub" -name 'libLibTorchSharp.so' | head -1)
    [ -n "$bridge" ] || { echo "stage: libLibTorchSharp.so not in the published output" >&2; exit 1; }
    cp "$bridge" "$dir/app/"
    rm -rf "$pub"
    # the .NET runtime: a given tarball, else the team's shared one, else packed from the local install (cached)
    local runtime=${DOTNET_RUNTIME_TARBALL:-}
    [ -n "$runtime" ] || { [ -f ../shared/gpu/dotnet-runtime-linux-x64.tar.xz ] && runtime=../shared/gpu/dotnet-runtime-linux-x64.tar.xz; } || true
    if [ -z "$runtime" ]; then
        local root; root=$(dirname "$(readlink -f "$(command -v dotnet)")")
        local version; version=$(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ {v=$2} END {print v}')
        runtime=${XDG_CACHE_HOME:-$HOME/.cache}/multilora/dotnet-runtime-$version-linux-x64.tar.xz
        if [ ! -f "$runtime" ]; then
            mkdir -p "$(dirname "$runtime")"
            tar -C "$root" -cJf "$runtime.tmp" dotnet host/fxr "shared/Microsoft.NETCore.App/$version" && mv "$runtime.tmp" "$runtime"
        fi
    fi
    cp "$runtime" "$dir/dotnet-runtime-linux-x64.tar.xz"
    cp "$here/run-comparison.sh" "$here/hf_anchor.py" "$dir/"
    local mib; mib=$(du -sm "$dir" | cut -f1)
    echo "staged $dir: ${mib} MiB"
    [ "$mib" -le "$max_stage_mib" ] || { echo "stage: $dir is ${mib} MiB, over the ${max_stage_mib} MiB the device tool can carry" >&2; exit 1; }
}

run() {
    local presets=all steps=6 out=${OUT:-runs/gpu-comparison} skip_hf=0 small="" device=cuda budget=560
    while [ $# -gt 0 ]; do
        case $1 in
            --presets) presets=$2; shift 2 ;;
            --steps) steps=$2; shift 2 ;;
            --out) out=$2; shift 2 ;;
            --skip-hf) skip_hf=1; shift ;;
            --cpu-small) small=--cpu-small; shift ;;
            --device) device=$2; shift 2 ;;
            --budget) budget=$2; shift 2 ;;
            *) echo "run: unknown option $1" >&2; exit 2 ;;
        esac
    done
    # everything must end inside the device tool's 600 s call: each stage gets at most what is left of --budget
    local deadline=$(( $(date +%s) + budget ))
    left() { local l=$(( deadline - $(date +%s) )); [ $l -gt "$1" ] && echo "$1" || echo $(( l > 0 ? l : 1 )); }
    mkdir -p "$out"
    rm -f "$out/hf.jsonl" "$out/ours.jsonl" "$out/parity.txt"
    local log=$out/run.log
    : > "$log"
    local app dotnet
    if [ -f "$here/app/MultiLora.Benchmarks.dll" ]; then
        # staged: unpack the runtime once, point the program at the machine's Python PyTorch (CUDA libtorch)
        app=$here/app/MultiLora.Benchmarks.dll
        [ -x /tmp/dotnet/dotnet ] || { mkdir -p /tmp/dotnet && tar -C /tmp/dotnet -xJf "$here/dotnet-runtime-linux-x64.tar.xz"; }
        export DOTNET_ROOT=/tmp/dotnet
        dotnet=/tmp/dotnet/dotnet
        export LIBTORCHSHARP_PATH=$here/app/libLibTorchSharp.so
        if [ -z "${LIBTORCH_DIR:-}" ] && python3 -c 'import torch' 2>/dev/null; then
            LIBTORCH_DIR=$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
            export LIBTORCH_DIR
        fi
    else
        local repo; repo=$(cd "$here/../.." && pwd)
        app=$repo/benchmarks/MultiLora.Benchmarks/bin/Release/net10.0/MultiLora.Benchmarks.dll
        [ -f "$app" ] || { echo "run: $app not built (dotnet build benchmarks/MultiLora.Benchmarks -c Release), and nothing staged next to this script" >&2; exit 1; }
        dotnet=dotnet
    fi
    echo "== $(date -u +%FT%TZ) issue 16 comparison: device $device, presets $presets, steps $steps ${small}" | tee -a "$log"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log" || true

    local fixture=$here/../../tests/fixtures/tiny-llava
    [ -d "$fixture" ] || fixture=$(pwd)/tests/fixtures/tiny-llava
    if [ -d "$fixture" ]; then
        timeout "$(left 90)" "$dotnet" "$app" parity --fixture "$fixture" --device "$device" --out "$out/parity.txt" 2>&1 | tee -a "$log" || echo "parity: some checks failed or it ran out of time (see above)" | tee -a "$log"
    else
        echo "parity: skipped (no tests/fixtures/tiny-llava here)" | tee -a "$log"
    fi

    local memory=nvml
    if [ "$device" = cuda ]; then
        if timeout "$(left 60)" "$dotnet" "$app" anchor --probe-memory >>"$log" 2>&1; then memory=allocator; fi
        echo "peak memory measure for ours: $memory (see the probe's line above)" | tee -a "$log"
    fi

    if [ $skip_hf = 1 ]; then
        echo "HF rows: skipped (--skip-hf)" | tee -a "$log"
    elif ! python3 -c 'import torch, transformers, peft; assert torch.cuda.is_available()' >>"$log" 2>&1; then
        echo "HF rows: skipped (no python3 with torch + CUDA, transformers and peft here)" | tee -a "$log"
    else
        local hf_presets; hf_presets=$(python3 - "$presets" <<'EOF'
import sys, importlib.util, os
spec = importlib.util.spec_from_file_location("hf_anchor", os.path.join(os.environ["HERE"], "hf_anchor.py"))
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
wanted = list(m.PRESETS) if sys.argv[1] == "all" else sys.argv[1].split(",")
print(",".join(n for n in wanted if n in m.PRESETS))
EOF
        )
        if [ -n "$hf_presets" ]; then
            PYTHONUNBUFFERED=1 timeout "$(left 240)" python3 "$here/hf_anchor.py" --presets "$hf_presets" --steps "$steps" --out "$out/hf.jsonl" 2>&1 | tee -a "$log" || echo "hf_anchor.py exited with $? (124: out of time)" | tee -a "$log"
        fi
    fi

    for preset in $("$dotnet" "$app" anchor --list --presets "$presets"); do
        if [ $(( deadline - $(date +%s) )) -lt 20 ]; then
            echo "{\"name\":\"$preset\",\"framework\":\"multilora\",\"error\":\"not run: the --budget of ${budget} s was used up\"}" >> "$out/ours.jsonl"
            continue
        fi
        timeout "$(left 150)" "$dotnet" "$app" anchor --presets "$preset" --device "$device" --steps "$steps" --memory "$memory" $small --out "$out/ours.jsonl" 2>&1 | tee -a "$log" \
            || echo "$preset: exited with $?" | tee -a "$log"
        grep -q "\"name\":\"$preset\"" "$out/ours.jsonl" 2>/dev/null \
            || echo "{\"name\":\"$preset\",\"framework\":\"multilora\",\"error\":\"the process died without writing its row (see run.log)\"}" >> "$out/ours.jsonl"
    done

    "$dotnet" "$app" anchor-table "$out/hf.jsonl" "$out/ours.jsonl" --out "$out" $small | tee -a "$log"
}

export HERE=$here
case $mode in
    stage) stage "$@" ;;
    run) run "$@" ;;
    *) sed -n '2,22p' "$0"; exit 2 ;;
esac
