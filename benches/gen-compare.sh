#!/usr/bin/env bash
# Generation speed against the Rust plugins a user would otherwise chain, side by side in one run:
# protoc-gen-rs-svc (release binary, everything it emits) against protoc-gen-prost 0.5 +
# protoc-gen-tonic 0.5 + protoc-gen-prost-serde 0.4 (the sum of the three), each plugin fed the
# same captured CodeGeneratorRequest on stdin, in alternating rounds. Prints, per input, the
# median and the range of wall and CPU (user+sys) time, the ratio, peak RSS, and the bytes of
# Rust each side writes. With BUILD=1 it also times `cargo build` of a crate compiling the
# generated pubsub code, ours against the three plugins' output.
#
# Not part of `cargo test`. Run from anywhere:
#
#   cargo install --locked --root ~/.cache/rs-svc/rust-plugins \
#     protoc-gen-prost@^0.5 protoc-gen-tonic@^0.5 protoc-gen-prost-serde@^0.4
#   RS_SVC_RUST_PLUGINS=~/.cache/rs-svc/rust-plugins/bin \
#   RS_SVC_GOOGLE_PROTO_FILES=<npm google-proto-files 6.0.1>/google-proto-files \
#   PROTOC=protoc ROUNDS=7 BUILD=1 benches/gen-compare.sh
#
# Inputs: `synthetic` (the request of benches/generate.rs: 200 services, 2,000 methods), and with
# RS_SVC_GOOGLE_PROTO_FILES and a protoc (PROTOC, else `protoc` on PATH) google/pubsub/v1 and
# google/cloud/compute/v1 (a 10 MB request), captured here. Without the three plugins (looked up
# in RS_SVC_RUST_PLUGINS, else on PATH) the script says so and exits 0; inputs it cannot make are
# skipped with a note. CARGO_TARGET_DIR is honoured; scratch files go to $WORK (default: a
# temporary directory, removed at the end unless KEEP=1).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-7}
target=${CARGO_TARGET_DIR:-$repo/target}

plugin() {
  local name=$1
  if [ -n "${RS_SVC_RUST_PLUGINS:-}" ] && [ -x "$RS_SVC_RUST_PLUGINS/$name" ]; then
    echo "$RS_SVC_RUST_PLUGINS/$name"
  else
    command -v "$name" || true
  fi
}
prost=$(plugin protoc-gen-prost)
tonic=$(plugin protoc-gen-tonic)
serde=$(plugin protoc-gen-prost-serde)
if [ -z "$prost" ] || [ -z "$tonic" ] || [ -z "$serde" ]; then
  echo "gen-compare: skipped: protoc-gen-prost, protoc-gen-tonic and protoc-gen-prost-serde are"
  echo "not all installed (RS_SVC_RUST_PLUGINS=${RS_SVC_RUST_PLUGINS:-unset}, nor on PATH). Install them with"
  echo "  cargo install --locked --root DIR protoc-gen-prost@^0.5 protoc-gen-tonic@^0.5 protoc-gen-prost-serde@^0.4"
  echo "and set RS_SVC_RUST_PLUGINS=DIR/bin."
  exit 0
fi
command -v python3 >/dev/null || { echo "gen-compare: skipped: needs python3"; exit 0; }

if [ -n "${WORK:-}" ]; then
  work=$WORK
  mkdir -p "$work"
else
  work=$(mktemp -d)
  [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
fi

echo "gen-compare: building protoc-gen-rs-svc (release) and the synthetic request" >&2
(cd "$repo" && cargo build --quiet --release --bin protoc-gen-rs-svc)
ours=$target/release/protoc-gen-rs-svc
(cd "$repo" && RS_SVC_WRITE_SYNTHETIC="$work/synthetic.req" cargo bench --quiet --bench generate)

# A plugin that saves its request and answers with an empty response (proto3 optional allowed).
cat >"$work/protoc-gen-capture" <<'EOF'
#!/bin/sh
cat > "$CAPTURE"
printf '\020\001'
EOF
chmod +x "$work/protoc-gen-capture"
protoc=${PROTOC:-$(command -v protoc || true)}
inputs=(synthetic)
capture() {
  local name=$1
  shift
  CAPTURE="$work/$name.req" "$protoc" -I"$RS_SVC_GOOGLE_PROTO_FILES" \
    --plugin=protoc-gen-capture="$work/protoc-gen-capture" --capture_out="$work" "$@" 2>/dev/null
  inputs+=("$name")
}
if [ -z "${RS_SVC_GOOGLE_PROTO_FILES:-}" ] || [ -z "$protoc" ]; then
  echo "gen-compare: pubsub and compute skipped: set RS_SVC_GOOGLE_PROTO_FILES and PROTOC" >&2
else
  capture pubsub google/pubsub/v1/pubsub.proto google/pubsub/v1/schema.proto
  capture compute google/cloud/compute/v1/compute.proto
fi

export GC_WORK=$work GC_ROUNDS=$rounds GC_OURS=$ours GC_PROST=$prost GC_TONIC=$tonic GC_SERDE=$serde
export GC_INPUTS="${inputs[*]}"
python3 - <<'EOF'
import os, statistics, subprocess, time

work = os.environ["GC_WORK"]
rounds = int(os.environ["GC_ROUNDS"])
ours = [os.environ["GC_OURS"]]
theirs = [os.environ["GC_PROST"], os.environ["GC_TONIC"], os.environ["GC_SERDE"]]

def varint(b, i):
    n = shift = 0
    while True:
        c = b[i]; i += 1
        n |= (c & 0x7F) << shift; shift += 7
        if c < 0x80:
            return n, i

def fields(b):
    """(number, value) of a protobuf message; value is bytes for length-delimited fields."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        wire = key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        elif wire == 5:
            v = b[i:i + 4]; i += 4
        elif wire == 1:
            v = b[i:i + 8]; i += 8
        else:
            raise ValueError("unexpected wire type %d" % wire)
        yield key >> 3, v

def files(response):
    """name -> content of a CodeGeneratorResponse; fails on its error."""
    out = {}
    for num, v in fields(response):
        if num == 1:
            raise SystemExit("plugin error: " + v.decode())
        if num == 15:
            f = dict((n, x) for n, x in fields(v) if n in (1, 2, 15))
            if 2 in f:  # an insertion point: a line added to another plugin's file
                continue
            out[f[1].decode()] = f.get(15, b"")
    return out

def run(cmd, request):
    """Wall and CPU (user+sys) seconds of one plugin run fed `request` on stdin."""
    with open(request, "rb") as stdin:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit("%s failed" % cmd[0])
    return wall, usage.ru_utime + usage.ru_stime

def check(cmd, request):
    """The files of one untimed run, and its peak RSS in MB. The RSS comes from /usr/bin/time,
    a small parent: a child forked by this script starts out with the script's own RSS."""
    rss = None
    if os.access("/usr/bin/time", os.X_OK):
        out = subprocess.run(["/usr/bin/time", "-f", "%M", cmd], stdin=open(request, "rb"), capture_output=True, check=True)
        rss = int(out.stderr.split()[-1]) / 1024
    else:
        out = subprocess.run([cmd], stdin=open(request, "rb"), capture_output=True, check=True)
    return files(out.stdout), rss

def side(cmds, request):
    wall = cpu = 0.0
    for cmd in cmds:
        w, c = run([cmd], request)
        wall += w; cpu += c
    return wall, cpu

def fmt(s):
    return "%.0f ms" % (s * 1000) if s < 1 else "%.2f s" % s

def spread(xs):
    return "%s (%s-%s)" % (fmt(statistics.median(xs)), fmt(min(xs)), fmt(max(xs)))

print("| input | request | rs-svc wall | prost+tonic+serde wall | ratio | rs-svc CPU | theirs CPU | ratio | peak RSS ours/theirs | Rust bytes ours/theirs |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name in os.environ["GC_INPUTS"].split():
    request = os.path.join(work, name + ".req")
    # One untimed run of each plugin: checks the output, counts its bytes, warms the cache.
    ours_files, theirs_files, rss = {}, {}, {"ours": 0.0, "theirs": 0.0}
    for label, cmds, out in (("ours", ours, ours_files), ("theirs", theirs, theirs_files)):
        for cmd in cmds:
            fs, r = check(cmd, request)
            out.update(fs)
            rss[label] = None if r is None or rss[label] is None else max(rss[label], r)
    rust = lambda fs: sum(len(c) for n, c in fs.items() if n.endswith(".rs"))
    ours_rust, theirs_rust = rust(ours_files), rust(theirs_files)
    other = sum(len(c) for n, c in ours_files.items() if not n.endswith(".rs"))
    for label, fs in (("ours", ours_files), ("theirs", theirs_files)):
        d = os.path.join(work, "out", name, label)
        for n, c in fs.items():
            os.makedirs(os.path.dirname(os.path.join(d, n)), exist_ok=True)
            with open(os.path.join(d, n), "wb") as f:
                f.write(c)
    del ours_files, theirs_files
    o, t = [], []
    for r in range(rounds):
        # Alternate who goes first, so load from other work on the machine hits both alike.
        if r % 2 == 0:
            o.append(side(ours, request)); t.append(side(theirs, request))
        else:
            t.append(side(theirs, request)); o.append(side(ours, request))
    ow, oc = zip(*o)
    tw, tc = zip(*t)
    med = statistics.median
    memory = "%.0f / %.0f MB" % (rss["ours"], rss["theirs"]) if rss["ours"] else "-"
    print("| %s | %.1f MB | %s | %s | %.2fx | %s | %s | %.2fx | %s | %.2f / %.2f MB = %.2fx (+%.2f MB OpenAPI) |" % (
        name, os.path.getsize(request) / 1e6, spread(ow), spread(tw), med(ow) / med(tw),
        spread(oc), spread(tc), med(oc) / med(tc), memory,
        ours_rust / 1e6, theirs_rust / 1e6, ours_rust / theirs_rust, other / 1e6))
print("\n%d rounds, alternating who goes first; median (min-max); ratios of the medians. Theirs is" % rounds)
print("the sum of the three plugins' runs; CPU is user+sys; peak RSS is the largest of the three.")
EOF

[ "${BUILD:-0}" = 1 ] || exit 0
if [ ! -d "$work/out/pubsub" ]; then
  echo "gen-compare: build comparison skipped: needs the pubsub request" >&2
  exit 0
fi

# `cargo build` of a crate compiling the generated pubsub code: ours (with the rs-svc runtime)
# against the three plugins' output (prost, tonic, pbjson). The three are run again with the usual
# setup for serde on well-known types, pbjson-types in place of prost-types: the parameter is
# appended to the request (the last value of a field wins in protobuf; a length below 128 is one
# byte).
with_param() {
  printf '\022%b%s' "$(printf '\\%03o' ${#2})" "$2" | cat "$work/pubsub.req" - >"$work/pubsub-$1.req"
}
with_param prost compile_well_known_types,extern_path=.google.protobuf=::pbjson_types
cp "$work/pubsub-prost.req" "$work/pubsub-tonic.req"
with_param prost-serde extern_path=.google.protobuf=::pbjson_types
crates=$work/crates
mkdir -p "$crates/ours/src" "$crates/theirs/src"
cp "$repo/Cargo.lock" "$crates/Cargo.lock"
cat >"$crates/Cargo.toml" <<EOF
[workspace]
members = ["ours", "theirs"]
resolver = "2"
EOF
cat >"$crates/ours/Cargo.toml" <<EOF
[package]
name = "gen-ours"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
prost = "0.14"
prost-types = "0.14"
rs-svc = { path = "$repo/runtime" }
serde = "1"
tonic = "0.14"
tonic-prost = "0.14"
EOF
cat >"$crates/theirs/Cargo.toml" <<EOF
[package]
name = "gen-theirs"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
pbjson = "0.8"
pbjson-types = "0.8"
prost = "0.14"
serde = "1"
tonic = "0.14"
tonic-prost = "0.14"
EOF
cp -r "$work/out/pubsub/ours" "$crates/ours/src/gen"
echo '#![allow(clippy::all)]
include!("gen/mod.rs");' >"$crates/ours/src/lib.rs"
mkdir -p "$crates/theirs/src/gen"
for name in prost tonic prost-serde; do
  "$(plugin "protoc-gen-$name")" <"$work/pubsub-$name.req" >"$work/theirs.res"
  python3 - "$work/theirs.res" "$crates/theirs/src/gen" <<'EOF'
import os, sys
def varint(b, i):
    n = shift = 0
    while True:
        c = b[i]; i += 1
        n |= (c & 0x7F) << shift; shift += 7
        if c < 0x80:
            return n, i
def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        if key & 7 == 0:
            v, i = varint(b, i)
        else:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        yield key >> 3, v
for num, v in fields(open(sys.argv[1], "rb").read()):
    if num == 1:
        raise SystemExit("plugin error: " + v.decode())
    if num == 15:
        f = dict((n, x) for n, x in fields(v) if n in (1, 2, 15))
        if 2 not in f:
            path = os.path.join(sys.argv[2], f[1].decode())
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").write(f.get(15, b""))
EOF
done
{
  echo '#![allow(clippy::all)]'
  echo 'pub mod google { pub mod pubsub { pub mod v1 {'
  for f in $(cd "$crates/theirs/src" && find gen -name '*.rs' | sort); do
    echo "include!(\"$f\");"
  done
  echo '} } }'
} >"$crates/theirs/src/lib.rs"

export CARGO_TARGET_DIR=$target/gen-compare CARGO_INCREMENTAL=0
echo "gen-compare: building the dependencies of the two pubsub crates" >&2
(cd "$crates" && cargo build --quiet -p gen-ours -p gen-theirs)
declare -a ob tb
for ((r = 0; r < rounds; r++)); do
  for side in $([ $((r % 2)) = 0 ] && echo ours theirs || echo theirs ours); do
    touch "$crates/$side/src/lib.rs"
    start=$(date +%s%N)
    (cd "$crates" && cargo build --quiet -p "gen-$side")
    ms=$((($(date +%s%N) - start) / 1000000))
    if [ "$side" = ours ]; then ob+=("$ms"); else tb+=("$ms"); fi
  done
done
python3 - "${ob[*]}" "${tb[*]}" "$rounds" <<'EOF'
import statistics, sys
o = [int(x) for x in sys.argv[1].split()]
t = [int(x) for x in sys.argv[2].split()]
s = lambda xs: "%.2f s (%.2f-%.2f)" % (statistics.median(xs) / 1e3, min(xs) / 1e3, max(xs) / 1e3)
print("\n`cargo build` (debug, dependencies built, CARGO_INCREMENTAL=0) of the generated pubsub crate, %s alternating rounds:" % sys.argv[3])
print("rs-svc %s; prost+tonic+pbjson %s; ratio %.2fx" % (s(o), s(t), statistics.median(o) / statistics.median(t)))
EOF
