# Two commands do all set-up: `make run` and `make test`. Both create the
# virtual environment in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-random lab venv readme-tables benchmark bench claims assignments autograde notebook-sources \
	sync-notebooks mutation clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 --env TF_CPP_MIN_LOG_LEVEL 2 > /dev/null
	touch $(STAMP)

venv: $(STAMP)

# Execute every notebook in full mode, in a fresh kernel, into build/.
run: $(STAMP)
	GENAI_TF_MODE=full $(BIN)/python -m genai_tf.run_notebooks --out build $(NOTEBOOKS)

# Unit tests, doctests, and nbval over every notebook in quick mode.
test: $(STAMP)
	GENAI_TF_MODE=quick $(BIN)/python -m pytest -q --durations=15 tests genai_tf --nbval-lax notebooks

# The unit tests and doctests in a random order (pytest-random-order, one shuffle across
# every file; SEED=N repeats an order). The notebooks are left out: their cells are
# sequential by nature.
SEED ?= $(shell date +%s)
test-random: $(STAMP)
	GENAI_TF_MODE=quick $(BIN)/python -m pytest -q tests genai_tf --random-order-bucket=global --random-order-seed=$(SEED)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

# The README's measured-results and budget tables, rewritten from the stored notebooks
# (tests/test_readme_tables.py fails when they differ).
readme-tables: $(STAMP)
	$(BIN)/python tools/readme_tables.py

benchmark: $(STAMP)
	$(BIN)/python benchmarks/budgets.py

# Training throughput: the MLP GAN three ways, the matmul roofline, bfloat16, DCGAN
# and VAE; prints a table and writes outputs/benchmarks/throughput.json.
bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py $(BENCH_ARGS)

# The notebooks' headline comparisons (04, 08, 09, 12) over seeds 0 1 2 at their full budgets: mean +- sd
# per comparison, written to benchmarks/results/claims.json (committed) after every seed (a re-run resumes;
# roughly 40 min per seed at the reference), then the README's claims table regenerated from it.
# CLAIMS_ARGS="--comparisons 09_text --seeds 3 4", or a smoke run "--scale 0.01 --out outputs/benchmarks/smoke.json".
claims: $(STAMP)
	$(BIN)/python benchmarks/claims.py --out benchmarks/results/claims.json $(CLAIMS_ARGS)
	$(BIN)/python tools/readme_tables.py

# Course assignments (nbgrader; notebooks/assignments/nbgrader_config.py puts everything it
# writes under build/assignments/). `make assignments` writes the student release of every
# assignment to build/assignments/release/; `make autograde` grades the submissions in
# build/assignments/submitted/<student>/<assignment>/ and writes build/assignments/grades.csv.
# ASSIGNMENT=gans limits either to one.
# nbgrader runs `alembic` by name, hence the virtual environment first on PATH.
ASSIGNMENT ?= *
NBGRADER := cd notebooks/assignments && PATH="$(CURDIR)/$(BIN):$$PATH" "$(CURDIR)/$(BIN)/nbgrader"

assignments: $(STAMP)
	$(NBGRADER) generate_assignment "$(ASSIGNMENT)" --force

autograde: $(STAMP)
	$(NBGRADER) autograde "$(ASSIGNMENT)" --force
	$(NBGRADER) export

# Notebooks reviewable as text: each notebook (notebooks/NN_topic.ipynb and the assignment
# sources) is paired with a MyST markdown source beside it, NN_topic.md, holding its cells
# without outputs (notebooks/jupytext.toml declares the pairing). Review a notebook's change
# in its .md's diff; tests/test_notebook_sources.py fails when a pair has drifted apart.
# `make notebook-sources` rewrites every .md from its .ipynb: run it after changing cells in
# a .ipynb (a re-run changes only outputs; in Jupyter Lab, saving a notebook updates its .md).
# `make sync-notebooks` brings edited .md files back into their .ipynb: the cells come from
# the .md, the stored outputs, execution counts and notebook metadata stay in the .ipynb
# (a cell whose source changed keeps its old outputs until the notebook is re-run).
# Each overwrites one side of every pair with the other: run the one whose side you edited.
NOTEBOOK_FILES = $(wildcard notebooks/[0-9][0-9]_*.ipynb) $(wildcard notebooks/assignments/source/*/*.ipynb)

notebook-sources: $(STAMP)
	$(BIN)/jupytext --quiet --to md:myst $(NOTEBOOK_FILES)

sync-notebooks: $(STAMP)
	$(BIN)/jupytext --quiet --update --to ipynb $(NOTEBOOK_FILES:.ipynb=.md)

# Mutation testing (mutmut): losses, theory, sampling, metrics, latent, adversarial and the
# per-batch updates, each against its fast tests, in a private copy of the tree; prints
# killed / total per module and writes the survivors to build/mutation/<module>.txt.
# Not part of `make test`: about 1.5 hours for all seven modules on 2 cores. MODULES=losses (or
# "losses sampling") runs some; MUTATION_JOBS=N runs N mutants at a time.
MODULES ?=
MUTATION_JOBS ?= 2
mutation: $(STAMP)
	$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python tools/mutation.py --jobs $(MUTATION_JOBS) $(MODULES)

clean:
	rm -rf build outputs
