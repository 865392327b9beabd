# The two commands: `make run` (start everything) and `make test` (the whole suite).
.PHONY: run test install bench unit clean

install:
	@scripts/bootstrap.sh

run: install
	.venv/bin/mobsrc up

test: install
	.venv/bin/python -m pytest -q $(PYTEST_ARGS)

unit: install
	.venv/bin/python -m pytest -q tests/unit

bench: install
	.venv/bin/python -m benchmarks

clean:
	rm -rf var/test-*
