# The two commands of the README:  `make book`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: book test env clean

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

## Build the book into _build/html (executes every chapter in the BMTL_PROFILE, quick by default).
book: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/build_book.sh

## Run the whole test suite: unit tests, every notebook (nbval), the book build with -W, the browser test.
## Two pytest workers share the two cores; one torch thread each keeps them from fighting.
test: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile \
	    --nbval-lax --nbval-current-env tests book -p no:cacheprovider

clean:
	rm -rf _build
