# Entry points named in the README. Meson and Ninja do the building;
# this file only chains the set-up steps.

BUILD ?= build

.PHONY: all deps build demo test models package format-check clean

all: build

# Debian packages for building, running and testing (needs root).
deps:
	scripts/install-deps.sh
	scripts/install-auth-deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	ninja -C $(BUILD)

# The detection models, checked against models/MANIFEST.sha256.
models: deps
	scripts/fetch-models.sh

# Starts the test camera and the daemon with that camera configured and
# prints the URL to open. Stop with Ctrl-C.
demo: build
	scripts/demo.sh $(BUILD)

# Every test, in a normal and an ASan+UBSan build. Ends with the line
# "N passed, N failed".
test: deps models
	scripts/install-browser-deps.sh
	scripts/run-tests.sh

# The release package dist/vms_VERSION_ARCH.deb, with the models.
package: deps models
	scripts/package.sh

format-check:
	clang-format --dry-run --Werror $$(git ls-files 'src/*.c' 'src/*.h')

clean:
	rm -rf build build-asan build-release dist build.*.log build-asan.*.log \
		build-release.*.log
