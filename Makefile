# The two commands of the README: `make book` builds the website, `make test` runs every test.
# Both create the environment first (only Python 3.11 and make are needed on a fresh machine).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2
# The book's build and tests show no progress bars and draw figures for the static website.
export MMCOURSE_PROGRESS := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# The book's models are tiny: one thread each is fastest, and two test workers with two threads each on a 2-core
# machine would spin against each other (measured: 25 times slower per step).
export OMP_NUM_THREADS := 1

.PHONY: env book book-student test test-student test-api unit notebooks build-check serve student benchmark clean

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

_vendor/plotly.min.js: $(STAMP)
	$(PY) -m mmcourse.book static _vendor

# A clean, warnings-as-errors build that executes every notebook.
book: env _vendor/plotly.min.js
	rm -rf _build
	MMCOURSE_STATIC_BUILD=1 $(VENV)/bin/jupyter-book build . --all -W --keep-going
	@echo "The book is built: open _build/html/index.html (or: make serve)"

# The website without solutions, for courses that publish the book to their students: _student/_build/html.
book-student: env _vendor/plotly.min.js
	rm -rf _student
	$(PY) -m mmcourse.book student-book _student
	cp -r _vendor _student/_vendor
	cd _student && MMCOURSE_STATIC_BUILD=1 ../$(VENV)/bin/jupyter-book build . --all -W --keep-going

serve:
	$(PY) -m http.server --directory _build/html 8000

unit: env
	$(PY) -m pytest -n $(JOBS) --doctest-modules mmcourse tests

notebooks: env
	$(PY) -m pytest -n $(JOBS) --dist loadfile --nbval-lax chapters

test: env
	$(PY) -m pytest -n $(JOBS) --dist loadfile --doctest-modules mmcourse tests --nbval-lax chapters
	$(MAKE) book

# Every chapter's student version, executed: no error, and every check says "not attempted" (doubles the time).
test-student: env
	MMCOURSE_STUDENT_TESTS=1 $(PY) -m pytest -n $(JOBS) tests/test_student_versions.py

# Every public name called with bad inputs (issue 15); part of `make test`, on its own here (about a minute).
test-api: env
	$(PY) -m pytest tests/test_public_api_errors.py

student: env
	$(PY) -m mmcourse.book student chapters student

benchmark: env
	$(PY) benchmarks/run.py

clean:
	rm -rf _build _vendor student _student
