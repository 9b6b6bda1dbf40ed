# Thin wrapper over CMake. Every target first makes sure the Debian packages are installed.
BUILD ?= build
JOBS ?= $(shell nproc)
MEMPLACE = $(BUILD)/memplace
OUT ?= results/local-$(shell date +%Y%m%d-%H%M%S)

.PHONY: all deps configure build test experiment report clean

all: build

deps:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j 1

experiment: build
	scripts/experiment.sh $(MEMPLACE) $(OUT)

clean:
	rm -rf $(BUILD)
