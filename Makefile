# Thin wrapper over CMake. Every target first makes sure the Debian packages are installed.
BUILD ?= build
JOBS ?= $(shell nproc)
# One test more than cores: a third of the tests' time is spent waiting on processes (guest
# timeouts, daemons, child exits), and guests still boot at most two at a time (their locks).
TEST_JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
MEMPLACE = $(BUILD)/memplace
OUT ?= results/local-$(shell date +%Y%m%d-%H%M%S)

.PHONY: all deps configure build test test-asan lint fuzz experiment reference plots bench clean \
        check-fresh check-fresh-quick check-fresh-experiment kernels experiment-ab \
        experiment-timeline deb check-deb check-qemu11

all: build

deps:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

# Independent tests run in parallel; the emulated ones (QEMU guests) hold one of two resource
# locks, so at most two guests boot at a time, and the few that assert host-wide counters run
# alone (tests/CMakeLists.txt).
# Then the host suites again under each hidden kernel feature (tests/masks, tests/README.md).
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS)
	TEST_JOBS=$(TEST_JOBS) tests/masks/run_masks.sh $(BUILD)

# The same suite under AddressSanitizer + UBSan. The emulated suites (tests/emulated: testbed,
# qemu guests) boot kernels that run an uninstrumented memplace copy anyway, and the `script`
# tests run only Python or shell, so those run only in `make test`. Built by clang at -O0
# (CMakeLists.txt): 64 s from scratch, where clang at -O1 took 152 s and GCC 226 s. Three e2e
# tests whose time is another program's (slurmctld, chromium, a QEMU boot; none instrumented)
# also run only in `make test`: they took 39 s of the sanitizer suite's CPU.
ASAN_SKIP = SlurmCluster|ReportInBrowser|OneMatrixMixesHostVcpuAndQemuTouchers
test-asan: deps
	@# A build-asan configured by GCC: CMake would reset its options on the compiler change.
	@grep -qs '^CMAKE_CXX_COMPILER:.*clang' build-asan/CMakeCache.txt || rm -rf build-asan
	cmake -S . -B build-asan -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DMEMPLACE_SANITIZE=ON -DMEMPLACE_BENCHMARKS=OFF -DMEMPLACE_EMULATED_TESTS=OFF
	cmake --build build-asan -j $(JOBS) --target unit_tests host_tests e2e_tests memplace memplace-agent
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -j $(TEST_JOBS) -LE 'emulated|script' \
	  -E '$(ASAN_SKIP)'

# clang-tidy over every translation unit of the harness, the agent and the workloads (about a
# minute on 2 cores; .clang-tidy says which checks). clang-format is checked by make test.
lint: build
	tests/structure/tidy_check.sh . $(BUILD)

# libFuzzer campaigns (clang): FUZZ_SECONDS per target, default 60.
fuzz: deps
	scripts/fuzz.sh

# Builds only memplace and the guest agent (not the tests), then runs; ends with a phase timing.
experiment:
	scripts/experiment.sh $(BUILD) $(OUT)

# memplace's populate against memhog and stress-ng (same size, policy, CPU), and the sampler's
# CPU cost against spawning numastat -m; prints medians and ratios. BENCH_ARGS="--runs 9".
bench: build
	scripts/bench.sh --build $(BUILD) $(BENCH_ARGS)

# The committed reference results (results/reference/, and results/reference-ab/ when both
# kernel builds exist), regenerated from scratch.
reference: build
	scripts/reference.sh $(MEMPLACE)

# Charts for a results dir: make plots DIR=results/...  (default: the newest results/ dir)
DIR ?= $(shell ls -td results/*/ 2>/dev/null | head -1)
plots: build
	$(MEMPLACE) plot $(DIR)

# `make test` on a fresh Debian 12: a debootstrap'd bookworm chroot where only
# scripts/install-deps.sh installs anything, so a package the installer lacks fails loudly.
# Needs root. FRESH_CTEST="-R regex" runs `ctest` with those arguments instead of `make test`.
check-fresh: deps
	JOBS=$(JOBS) FRESH_CTEST='$(FRESH_CTEST)' scripts/check-fresh.sh

# A new user's first command, timed: `make experiment` from a clone in a fresh bookworm root
# (its packages, the build, the kernel downloads and the runs). Needs root.
check-fresh-experiment: deps
	JOBS=$(JOBS) scripts/check-fresh.sh --experiment

# The CI guard: the same fresh root runs install-deps.sh and a CMake configure, then this host's
# build of the non-emulated tests (FRESH_CTEST overrides), so it compiles nothing.
check-fresh-quick: build
	JOBS=$(JOBS) FRESH_CTEST='$(FRESH_CTEST)' scripts/check-fresh.sh --prebuilt $(BUILD)

# Test kernels built from Debian's source (kernels/NAME.conf) into ~/.cache/memplace/builds/, where
# `--kernel build:NAME` finds them. KERNELS="7.2" builds one (default: all); a current build is
# reused. Niced: a build takes many minutes of every core.
NICE ?= 19
kernels: deps
	nice -n $(NICE) scripts/kernel-build.sh $(KERNELS)

# The cover letter's matrix on build:7.2 against build:7.2-no-gmem-policy (specs/series-ab.toml):
# builds the kernels that are missing, runs both, compares and plots into OUT_AB.
OUT_AB ?= results/ab-$(shell date +%Y%m%d-%H%M%S)
# The kernel timeline (specs/timeline.toml): the newest point release of every Debian cloud
# kernel series from 6.12 to 7.3 in the 2-node testbed, into results/timeline/ (a new dir; to
# finish an interrupted one: memplace run --resume results/timeline).
experiment-timeline: build
	$(MEMPLACE) run specs/timeline.toml --out results/timeline

# memplace against QEMU 11.1 (trixie-backports) in a debootstrapped trixie root: the QMP probe
# and the SNP command line (tests/install/qemu11_check.sh; about a minute the first time).
check-qemu11: build
	tests/install/qemu11_check.sh $(BUILD)

experiment-ab: deps
	NICE=$(NICE) scripts/experiment-ab.sh $(BUILD) $(OUT_AB)

# The Debian package memplace_VERSION_ARCH.deb in the top of the tree (VERSION: CMakeLists.txt's
# project()), built in its own tree DEB_BUILD (memplace, the agent and the man pages only), then
# checked by lintian. scripts/make-deb.sh and docs/packaging.md say what is in it and why.
DEB_BUILD ?= build-deb
DEB_VERSION = $(shell sed -n 's/^project.memplace VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
DEB = memplace_$(DEB_VERSION)_$(shell dpkg --print-architecture).deb
deb: deps
	JOBS=$(JOBS) scripts/make-deb.sh $(DEB_BUILD) .

# The package installed by apt in a fresh Debian 12 root (the one check-fresh makes), then used:
# probe, a local cell, a report with charts, a qemu cell, man pages, purge (tests/install/deb_install_check.sh).
# Needs root and the network (Debian's archive). Not part of `make test`: it takes minutes.
check-deb: deb
	scripts/check-fresh.sh --deb $(DEB)

clean:
	rm -rf $(BUILD)
