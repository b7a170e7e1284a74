# `make data`: fetch the real data sets (head CT, CT_small.dcm, MNIST) into
# the data folder with scripts/fetch-data.sh. Included by the main Makefile.
#
# The stamp makes a second `make data` free; the script runs again when it
# changed or when one of the files it fetches has gone missing. The script
# itself skips files that are present and verify against their SHA-256.

CTRECON_DATA_DIR := $(or $(CTRECON_DATA),data)
DATA_STAMP := $(CTRECON_DATA_DIR)/.fetched
DATA_FILES := $(addprefix $(CTRECON_DATA_DIR)/, \
	cranium/matrix.dat cranium/main.plist \
	pydicom/CT_small.dcm \
	mnist/t10k-images-idx3-ubyte.gz mnist/t10k-labels-idx1-ubyte.gz \
	mnist/train-images-idx3-ubyte.gz mnist/train-labels-idx1-ubyte.gz)
DATA_MISSING := $(filter-out $(wildcard $(DATA_FILES)),$(DATA_FILES))

.PHONY: data data-force
data: $(DATA_STAMP)

$(DATA_STAMP): scripts/fetch-data.sh $(if $(DATA_MISSING),data-force)
	bash scripts/fetch-data.sh $(CTRECON_DATA_DIR)
	@touch $@
