# Developer entry points for Emotion Motion. `make test` installs what it needs on first use.
#
# Environments (all ignored by git):
#   .venv                 unit tests, type checking and training: requirements-*.txt
#   .venv-blender-X.Y     the bpy module of Blender X.Y, for the tests in tests/blender/
#   .stubs/X.Y            fake-bpy-module type stubs of Blender X.Y, for mypy

SHELL := /bin/bash
PYTHON ?= python3.11
PIP_INSTALL := -m pip install --progress-bar off

VENV := .venv
VENV_STAMP := $(VENV)/.installed

# Latest bpy release of each supported Blender series on PyPI. Each is about 370 MB.
BLENDER_VERSIONS := 4.2 4.5 5.0
BPY_VERSION_4.2 := 4.2.23
BPY_VERSION_4.5 := 4.5.15
BPY_VERSION_5.0 := 5.0.1
BLENDER_VENV_STAMPS := $(foreach version,$(BLENDER_VERSIONS),.venv-blender-$(version)/.installed-bpy-$(BPY_VERSION_$(version)))
# The Blender venvs take pytest and pytest-timeout at the versions requirements-test.txt pins.
PYTEST_PINS := $(shell grep -E '^pytest(-timeout)?==' requirements-test.txt)

# Type stubs of the oldest and the newest supported Blender API.
STUB_VERSIONS := 4.2 5.0
FAKE_BPY_MODULE_VERSION := 20260730
STUB_STAMPS := $(foreach version,$(STUB_VERSIONS),.stubs/$(version)/.installed-$(FAKE_BPY_MODULE_VERSION))

# mypy names modules after the folders that contain __init__.py, and the repository root
# is the package, so its module name would be the checkout folder's name. A link named
# after the extension id gives it the name Blender uses.
TYPECHECK_PACKAGE := .typecheck/emotion_motion
TYPECHECK_TARGETS := $(TYPECHECK_PACKAGE)/__init__.py $(addprefix $(TYPECHECK_PACKAGE)/,operators models synthesis)

.PHONY: help venv blender-venvs stubs typecheck test test-unit train recognition-study demo extension wheels benchmark clean clean-all

help:
	@echo "make test           type checks, unit tests, then tests/blender under Blender $(BLENDER_VERSIONS)"
	@echo "make test-unit      unit tests only (tests/, without tests/blender/)"
	@echo "make test-blender-X.Y  tests/blender/ under Blender X.Y"
	@echo "make typecheck      mypy against the bpy stubs of Blender $(STUB_VERSIONS)"
	@echo "make venv           $(VENV) with requirements-runtime/test/train.txt"
	@echo "make blender-venvs  .venv-blender-X.Y with the bpy module of each Blender version"
	@echo "make stubs          .stubs/X.Y with fake-bpy-module type stubs"
	@echo "make recognition-study  cross-validate style classifier variants into docs/recognition_study.md"
	@echo "make clean          remove caches and build outputs; clean-all also removes environments"

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements-runtime.txt requirements-test.txt requirements-train.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or pass PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python $(PIP_INSTALL) -r requirements-test.txt -r requirements-train.txt
	touch $@

blender-venvs: $(BLENDER_VENV_STAMPS)

# One rule per Blender version. The stamp file carries the bpy version, so changing a
# pin above reinstalls that environment. numpy comes pinned below 2 from
# requirements-runtime.txt, which bpy 4.2 needs but does not declare.
define blender_venv_rule
.venv-blender-$(1)/.installed-bpy-$(BPY_VERSION_$(1)): requirements-runtime.txt requirements-test.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or pass PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x .venv-blender-$(1)/bin/python || $(PYTHON) -m venv .venv-blender-$(1)
	rm -f .venv-blender-$(1)/.installed-bpy-*
	.venv-blender-$(1)/bin/python $(PIP_INSTALL) bpy==$(BPY_VERSION_$(1)) -r requirements-runtime.txt $(PYTEST_PINS) $(shell grep -E '^matplotlib==' requirements-test.txt)
	touch $$@
endef
$(foreach version,$(BLENDER_VERSIONS),$(eval $(call blender_venv_rule,$(version))))

stubs: $(STUB_STAMPS)

.stubs/%/.installed-$(FAKE_BPY_MODULE_VERSION): $(VENV_STAMP)
	rm -rf .stubs/$*
	$(VENV)/bin/python $(PIP_INSTALL) --target .stubs/$* fake-bpy-module-$(subst .,-,$*)==$(FAKE_BPY_MODULE_VERSION)
	touch $@

# fake-bpy-module installs stub-only packages (bpy-stubs/), which mypy finds on the
# interpreter's module search path but not on MYPYPATH, so PYTHONPATH carries them.
# Each script in scripts/ is its own top-level module, so the scripts get a second mypy
# run. That run does not repeat errors in the modules they import.
MYPY := $(VENV)/bin/python -m mypy
SCRIPTS := $(wildcard scripts/*.py)
SCRIPTS_MYPY_FLAGS := --follow-imports=silent --disable-error-code valid-type --disable-error-code union-attr

typecheck: $(VENV_STAMP) $(STUB_STAMPS)
	mkdir -p $(dir $(TYPECHECK_PACKAGE))
	ln -sfn .. $(TYPECHECK_PACKAGE)
	@status=0; for version in $(STUB_VERSIONS); do \
		echo "mypy: extension package against the Blender $$version API stubs"; \
		PYTHONPATH=.stubs/$$version $(MYPY) --cache-dir .mypy_cache/$$version $(TYPECHECK_TARGETS) || status=1; \
		if [ -n "$(SCRIPTS)" ]; then \
			echo "mypy: scripts/ against the Blender $$version API stubs"; \
			PYTHONPATH=.stubs/$$version $(MYPY) --cache-dir .mypy_cache/$$version-scripts $(SCRIPTS_MYPY_FLAGS) \
				$(SCRIPTS) || status=1; \
		fi; \
	done; exit $$status

# pytest exits with 5 when it collected no tests. That already fails the target, and the
# message says why, because a run without tests checks nothing.
NO_TESTS_MESSAGE = { status=$$?; [ $$status -ne 5 ] || echo "error: pytest collected no tests from $(1)" >&2; exit $$status; }

# --keep-going runs every suite even after one fails, and make still exits non-zero.
test: $(VENV_STAMP) $(BLENDER_VENV_STAMPS) $(STUB_STAMPS)
	$(MAKE) --no-print-directory --keep-going typecheck test-unit $(addprefix test-blender-,$(BLENDER_VERSIONS))

test-unit: $(VENV_STAMP)
	$(VENV)/bin/python -m pytest tests -m "not blender" || $(call NO_TESTS_MESSAGE,tests/)

.SECONDEXPANSION:
test-blender-%: .venv-blender-%/.installed-bpy-$$(BPY_VERSION_$$*) $$(WHEELS_STAMP)
	.venv-blender-$*/bin/python -m pytest tests/blender || $(call NO_TESTS_MESSAGE,tests/blender/)

# Rebuilds models/ and docs/model_report.md from ../shared/datasets with fixed seeds.
train: $(VENV_STAMP)
	$(VENV)/bin/python -m training.train

# Cross-validates style classifier variants over several seeds and writes docs/recognition_study.md.
# It changes no file in models/.
recognition-study: $(VENV_STAMP)
	$(VENV)/bin/python -m training.recognition_study

# The demo and the package use the oldest supported Blender, so the .blend files it saves
# open in every supported version and the package tool is the one 4.2 validates with.
DEMO_BLENDER := 4.2
DEMO_PYTHON := .venv-blender-$(DEMO_BLENDER)/bin/python
DEMO_EMOTIONS := happy sad angry

demo: $(VENV_STAMP) .venv-blender-$(DEMO_BLENDER)/.installed-bpy-$(BPY_VERSION_$(DEMO_BLENDER))
	mkdir -p out
	$(DEMO_PYTHON) scripts/demo_motion.py out/demo_walk.bvh
	@set -e; for emotion in $(DEMO_EMOTIONS); do \
		$(DEMO_PYTHON) scripts/emotion_motion.py apply out/demo_walk.bvh --emotion $$emotion \
			-o out/demo_walk_$$emotion.bvh -o out/demo_walk_$$emotion.blend \
			--report out/demo_walk_$$emotion.json 2>out/demo_walk_$$emotion.log \
			|| { cat out/demo_walk_$$emotion.log >&2; exit 1; }; \
		$(VENV)/bin/python scripts/emotion_motion.py plot out/demo_walk_$$emotion.json -o out/demo_walk_$$emotion.png; \
	done

# onnxruntime wheels for the platforms in blender_manifest.toml, at the version that
# requirements-runtime.txt pins.
ONNXRUNTIME_VERSION := $(shell sed -n 's/^onnxruntime==//p' requirements-runtime.txt)
WHEEL_PLATFORMS := manylinux_2_28_x86_64 macosx_13_0_arm64 macosx_13_0_x86_64 win_amd64
WHEELS_STAMP := wheels/.downloaded-onnxruntime-$(ONNXRUNTIME_VERSION)
BLENDER_EXT := .venv-blender-$(DEMO_BLENDER)/lib/python3.11/site-packages/bpy/$(DEMO_BLENDER)/scripts/addons_core/bl_pkg/cli/blender_ext.py

wheels: $(WHEELS_STAMP)

$(WHEELS_STAMP): requirements-runtime.txt
	rm -rf wheels
	mkdir -p wheels
	@set -e; for platform in $(WHEEL_PLATFORMS); do \
		$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
			--implementation cp --abi cp311 --platform $$platform --dest wheels onnxruntime==$(ONNXRUNTIME_VERSION); \
	done
	@$(PYTHON) -c 'import pathlib, sys, tomllib; \
		listed = {pathlib.Path(w).name for w in tomllib.load(open("blender_manifest.toml", "rb"))["wheels"]}; \
		found = {p.name for p in pathlib.Path("wheels").glob("*.whl")}; \
		sys.exit(0 if listed == found else "error: blender_manifest.toml lists wheels %s but wheels/ has %s; update the manifest" % (sorted(listed), sorted(found)))'
	touch $@

# One zip per platform in dist/, built and checked by Blender's own extension tool.
extension: $(WHEELS_STAMP) .venv-blender-$(DEMO_BLENDER)/.installed-bpy-$(BPY_VERSION_$(DEMO_BLENDER))
	rm -rf dist
	mkdir -p dist
	$(DEMO_PYTHON) $(BLENDER_EXT) validate .
	$(DEMO_PYTHON) $(BLENDER_EXT) build --source-dir . --output-dir dist --split-platforms
	@ls -1 dist/*.zip

# Every script in benchmarks/ on one thread. bench_blender.py runs under Blender $(BENCHMARK_BLENDER), the
# others under $(VENV). Each script rewrites its own section of docs/benchmarks.md.
BENCHMARK_BLENDER := 4.5
BENCHMARK_SCRIPTS := $(filter-out benchmarks/bench_blender.py,$(sort $(wildcard benchmarks/bench_*.py)))

benchmark: $(VENV_STAMP) .venv-blender-$(BENCHMARK_BLENDER)/.installed-bpy-$(BPY_VERSION_$(BENCHMARK_BLENDER))
	@set -e; for script in $(BENCHMARK_SCRIPTS); do \
		echo "== $$script"; \
		OMP_NUM_THREADS=1 $(VENV)/bin/python $$script; \
	done
	@echo "== benchmarks/bench_blender.py (Blender $(BENCHMARK_BLENDER))"
	OMP_NUM_THREADS=1 .venv-blender-$(BENCHMARK_BLENDER)/bin/python benchmarks/bench_blender.py
	@echo "Results written to docs/benchmarks.md (one section per script)."

clean:
	rm -rf .typecheck .mypy_cache .pytest_cache dist out
	find . -path ./.venv -prune -o -path './.venv-blender-*' -prune -o -path ./.stubs -prune \
		-o -name __pycache__ -type d -prune -exec rm -rf {} +

clean-all: clean
	rm -rf $(VENV) .venv-blender-* .stubs
