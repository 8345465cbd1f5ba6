# codesift: `make demo` shows it working on real code; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_PKG := click==8.1.8
DEMO_DIR := $(VENV)/demo/click-8.1.8

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU build (pyproject's [local] extra): never let pip pick another.
	$(PY) -m pip install --quiet -e ".[local,tune,dev]"
	# A real local LLM for the end-to-end ask test: llama.cpp builds from source (~4-10 min).
	# Optional: where the build fails, tests/test_local_llm.py skips and says why.
	# Portable build: a -march=native one used AMX instructions that this kind of VM's CPU
	# flags announce but its kernel does not grant (SIGILL at the first token); no pip
	# cache, so a wheel built natively on another machine is never reused.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install --quiet --no-cache-dir -e ".[llm-local]" || echo "warning: llama-cpp-python did not build; the local-LLM test will skip"
	touch $(STAMP)

install: $(STAMP)

$(DEMO_DIR): | $(STAMP)
	mkdir -p $(VENV)/demo
	$(PY) -m pip download --quiet --no-binary :all: --no-deps -d $(VENV)/demo $(DEMO_PKG)
	tar -xzf $(VENV)/demo/click-8.1.8.tar.gz -C $(VENV)/demo

demo: $(STAMP) $(DEMO_DIR)
	$(VENV)/bin/codesift index $(DEMO_DIR)
	@echo; echo '$$ codesift search "how are environment variables used as option defaults"'
	$(VENV)/bin/codesift search "how are environment variables used as option defaults" --repo $(DEMO_DIR) -k 5
	@echo; echo '$$ codesift search "Context.invoke"'
	$(VENV)/bin/codesift search "Context.invoke" --repo $(DEMO_DIR) -k 3
	@echo; echo '$$ codesift search - < traceback.txt   (a pasted traceback)'
	printf 'Traceback (most recent call last):\n  File "/usr/lib/python3/site-packages/click/core.py", line 1078, in main\n    rv = self.invoke(ctx)\n  File "/usr/lib/python3/site-packages/click/termui.py", line 168, in prompt\n    value = prompt_func(prompt)\nclick.exceptions.Abort\n' | $(VENV)/bin/codesift search - --repo $(DEMO_DIR) -k 3
	@echo; echo '$$ codesift graph callers resolve_envvar_value --depth 2'
	$(VENV)/bin/codesift graph callers resolve_envvar_value --depth 2 --repo $(DEMO_DIR)
	@echo; echo '$$ codesift graph path BaseCommand.main get_completion_class'
	$(VENV)/bin/codesift graph path BaseCommand.main get_completion_class --repo $(DEMO_DIR)
	@echo; echo '$$ codesift map --budget 400'
	$(VENV)/bin/codesift map --budget 400 --repo $(DEMO_DIR)
	@echo; echo '$$ codesift context "how are environment variables used as option defaults" --budget 500'
	$(VENV)/bin/codesift context "how are environment variables used as option defaults" --budget 500 --repo $(DEMO_DIR)
	@echo; $(VENV)/bin/codesift status --repo $(DEMO_DIR)

# What the benchmarks compare against (LlamaIndex + Chroma); the commands are in docs/benchmarks.md.
bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
