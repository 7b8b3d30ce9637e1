# Developer entry points. Everything runs on a fresh Debian machine with R:
# `make test` installs what is missing, installs the package and runs the tests.

R       ?= R
RSCRIPT ?= Rscript
PKG     := perturbgim
VERSION := $(shell sed -n 's/^Version: //p' DESCRIPTION)
TARBALL := $(PKG)_$(VERSION).tar.gz

.PHONY: deps document install test check bench bench-data demo sanitize valgrind clean

deps:
	@bash tools/install-deps.sh

document:
	@$(RSCRIPT) -e 'roxygen2::roxygenise()'

install:
	@$(R) CMD INSTALL --no-multiarch --preclean --no-test-load . > /tmp/$(PKG)-install.log 2>&1 \
	  || { cat /tmp/$(PKG)-install.log; exit 1; }
	@echo "installed $(PKG) $(VERSION)"

# The test suite, then the tests that drive the C code again with the C code
# built under AddressSanitizer and UBSan (`make sanitize` runs them all).
SANITIZE_QUICK := engine-math|gradients|screen|fit|metrics-|scm|predict|simulate-benchmark
test: deps install
	@$(RSCRIPT) tools/run-tests.R
	@echo "sanitizers: the C-driving tests under ASan + UBSan ($(SANITIZE_QUICK))"
	@$(MAKE) --no-print-directory sanitize SANITIZE_TESTS='$(SANITIZE_QUICK)'

check: deps
	@rm -rf check && mkdir -p check
	@cd check && $(R) CMD build .. && _R_CHECK_FORCE_SUGGESTS_=false $(R) CMD check --as-cran --no-manual $(TARBALL)

bench: deps install
	@$(RSCRIPT) bench/metrics.R

bench-data: deps install
	@$(RSCRIPT) bench/data_synthetic.R
	@$(RSCRIPT) bench/data.R

demo: deps install
	@$(RSCRIPT) inst/scripts/demo.R

# The C code built with AddressSanitizer and UndefinedBehaviorSanitizer into a
# private library, then the whole test suite (or the test files matching the
# regular expression SANITIZE_TESTS) with the sanitizer runtimes preloaded
# into R (which is not itself instrumented).
SANITIZE_LIB := /tmp/$(PKG)-sanitize-lib
SANITIZE_TESTS ?=
sanitize: deps
	@mkdir -p $(SANITIZE_LIB)
	@R_MAKEVARS_USER=$(CURDIR)/tools/Makevars.sanitize $(R) CMD INSTALL --preclean \
	  --library=$(SANITIZE_LIB) --no-test-load . > /tmp/$(PKG)-sanitize-install.log 2>&1 \
	  || { cat /tmp/$(PKG)-sanitize-install.log; exit 1; }
	@R_LIBS=$(SANITIZE_LIB) \
	  LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  PERTURBGIM_TEST_FILTER='$(SANITIZE_TESTS)' $(RSCRIPT) tools/run-tests.R

# The package installed into a private library, then the test files matching
# VALGRIND_TESTS (below; "all" for the whole suite, which takes many hours
# under valgrind) run with R under valgrind. Any
# invalid read/write, use of uninitialised memory or definite leak fails the
# run; tools/valgrind-r.supp silences only R's, OpenBLAS's and libgomp's own
# reports. The log is $(VALGRIND_LOG).
VALGRIND_LIB  := /tmp/$(PKG)-valgrind-lib
VALGRIND_LOG  ?= /tmp/$(PKG)-valgrind.log
VALGRIND_OPTS ?= --error-exitcode=1 --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --suppressions=$(CURDIR)/tools/valgrind-r.supp \
  --log-file=$(VALGRIND_LOG)
# Under valgrind R runs 20-50 times slower: by default only the files that
# drive the engine's C code hardest (vectorised math and noise, every
# objective term, whole fits), about an hour on two busy cores.
VALGRIND_TESTS ?= engine-math|gradients|^fit$$
valgrind: deps
	@mkdir -p $(VALGRIND_LIB)
	@$(R) CMD INSTALL --preclean --library=$(VALGRIND_LIB) --no-test-load . \
	  > /tmp/$(PKG)-valgrind-install.log 2>&1 \
	  || { cat /tmp/$(PKG)-valgrind-install.log; exit 1; }
	@R_LIBS=$(VALGRIND_LIB) OMP_NUM_THREADS=2 \
	  PERTURBGIM_TEST_FILTER='$(if $(filter all,$(VALGRIND_TESTS)),,$(VALGRIND_TESTS))' \
	  $(R) -d "valgrind $(VALGRIND_OPTS)" --vanilla --no-echo -f tools/run-tests.R; \
	  status=$$?; grep -E "ERROR SUMMARY|definitely lost|Invalid (read|write)" $(VALGRIND_LOG); \
	  exit $$status

clean:
	@rm -rf check src/*.o src/*.so demo-output
