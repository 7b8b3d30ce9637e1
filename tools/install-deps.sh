#!/usr/bin/env bash
# Installs everything perturbgim needs on a fresh Debian machine with R:
# Debian's prebuilt r-cran-*/r-bioc-* packages first, CRAN only for what Debian
# lacks. Idempotent and quiet: a second run installs nothing.
set -euo pipefail

# R packages the package, its tests, vignettes and benchmarks use, plus
# OpenBLAS so that R's BLAS calls run multithreaded and vectorised. The python3
# packages produce reference values for fixtures and benchmarks; the package
# itself never calls Python.
DEBIAN_PACKAGES=(
  libopenblas0
  qpdf
  pandoc
  r-cran-cli r-cran-rlang r-cran-matrix r-cran-ggplot2 r-cran-testthat r-cran-withr r-cran-jsonlite
  r-cran-roxygen2 r-cran-knitr r-cran-rmarkdown r-cran-energy
  r-bioc-graph r-bioc-rbgl r-cran-igraph
  # parallel back-ends of gim_tune()
  r-bioc-biocparallel
  # on-disk and delayed expression matrices (gim_fit input, bench/scale.R)
  r-bioc-delayedarray r-bioc-hdf5array
  # Seurat objects (gim_fit() and predict() methods, the Seurat vignette)
  r-cran-seuratobject r-cran-seurat
  # readers: AnnData (.h5ad) files and Bioconductor containers
  r-cran-hdf5r r-bioc-singlecellexperiment r-bioc-summarizedexperiment r-bioc-s4vectors
  # pcalg (needed by the CRAN package SID, our SID reference) builds from
  # CRAN; these are its dependencies that Debian ships prebuilt.
  r-cran-rcpp r-cran-rcpparmadillo r-cran-bh r-cran-ggm r-cran-robustbase
  r-cran-vcd r-cran-fastica r-cran-clue r-cran-sfsmisc r-cran-bdsmatrix
  r-cran-corpcor r-cran-abind
  python3-numpy python3-scipy python3-pot
)
# Reference implementations for the tests, not needed by the package itself.
CRAN_PACKAGES=(pcalg SID)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq > /dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" > /tmp/perturbgim-apt.log 2>&1 || { tail -30 /tmp/perturbgim-apt.log; exit 1; }
fi

Rscript --vanilla - "${CRAN_PACKAGES[@]}" <<'RSCRIPT'
pkgs <- commandArgs(trailingOnly = TRUE)
todo <- pkgs[!vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)]
if (length(todo)) {
  message("deps: installing from CRAN: ", paste(todo, collapse = ", "))
  lib <- .libPaths()[1]
  utils::install.packages(todo, lib = lib, repos = "https://cloud.r-project.org",
                          Ncpus = 2L, quiet = TRUE)
  still <- todo[!vapply(todo, requireNamespace, logical(1), quietly = TRUE)]
  # These are test references only: without them the live comparisons are
  # skipped and the stored fixtures (made with them) still check the results.
  if (length(still)) message("deps: WARNING: could not install ", paste(still, collapse = ", "),
                             "; the tests that compare with them live are skipped")
}
RSCRIPT
echo "deps: all dependencies present"
