# Thin wrapper over CMake presets and the scripts in scripts/.
#   make demo    install what is missing, build, start vigil with a real training run
#   make test    install what is missing, build, run every test suite
.PHONY: deps build test unit-test asan-test fuzz-test integration-test demo bench format clean

JOBS ?= $(shell nproc)

deps:
	scripts/install-deps

build:
	scripts/install-deps build
	cmake --preset release >/dev/null
	cmake --build build/release -j $(JOBS)

test:
	scripts/test

demo:
	scripts/demo

bench:
	scripts/bench

format:
	find src tests bench include -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
