# stagehand: build the step binaries, stage and destroy an environment, test.
#
#   make stage              create environment $(ENV) (default: local)
#   make destroy-stage      destroy it, then verify-clean
#   make test               vet, format check, unit and end-to-end tests
#   make build              every step binary into bin/
#   make local-up / local-down   the local AWS-compatible endpoint (moto)

SHELL := /bin/bash
GO    ?= go
BIN   := bin
ENV   ?= local

# The lifecycle, group after group; steps joined by '+' run side by side.
# pipelines/stage.Jenkinsfile and pipelines/destroy-stage.Jenkinsfile run
# exactly these (e2e/lifecycle_test.go fails when they drift apart).
STAGE_GROUPS   := create-vpc bootstrap-ecs provision-jenkins+run-containers
DESTROY_GROUPS := destroy-containers+destroy-jenkins destroy-ecs destroy-vpc verify-clean

# The local endpoint that the "local" environment talks to.
LOCAL_PORT     ?= 5000
LOCAL_ENDPOINT := http://127.0.0.1:$(LOCAL_PORT)
LOCAL_DIR      := .local

.PHONY: all build stage destroy-stage test bench vet fmt-check local-up local-down clean help

all: build

help:
	@sed -n '1,9p' Makefile | sed 's/^# \{0,1\}//'

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./steps/...

# For the local environment, the steps get throw-away credentials and the
# local endpoint; real credentials never leave for it.
ifeq ($(ENV),local)
stage destroy-stage: export AWS_ACCESS_KEY_ID := test
stage destroy-stage: export AWS_SECRET_ACCESS_KEY := test
stage destroy-stage: export AWS_ENDPOINT_URL := $(LOCAL_ENDPOINT)
ENDPOINT_DEP := local-up
CONFIRM      := yes
RUN_ENV      := env -u AWS_PROFILE -u AWS_SESSION_TOKEN
endif

stage: build $(ENDPOINT_DEP)
	@$(RUN_ENV) BIN=$(BIN) scripts/run-groups $(ENV) $(STAGE_GROUPS)

destroy-stage: build $(ENDPOINT_DEP)
	@if [ "$(CONFIRM)$(YES)" = "" ]; then \
	  if [ -t 0 ]; then \
	    read -r -p "Destroy environment $(ENV)? Type its name to continue: " answer; \
	    [ "$$answer" = "$(ENV)" ] || { echo "not confirmed; nothing was changed" >&2; exit 3; }; \
	  else echo "destroy-stage: no terminal to confirm on; run with YES=1" >&2; exit 3; fi; \
	fi
	@$(RUN_ENV) BIN=$(BIN) scripts/run-groups $(ENV) $(DESTROY_GROUPS)

local-up:
	@scripts/local-endpoint up $(LOCAL_PORT) $(LOCAL_DIR)

local-down:
	@scripts/local-endpoint down $(LOCAL_PORT) $(LOCAL_DIR)

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: vet fmt-check
	$(GO) test -count=1 -timeout 20m ./...

# Benchmarks print figures; they assert nothing about speed.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...

clean:
	rm -rf $(BIN)
