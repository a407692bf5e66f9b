# Bulkhead: `make run` boots the default deployment in QEMU; `make test` runs
# every check. Both install what a fresh Debian machine lacks first.

CARGO       ?= cargo
BARE        := x86_64-unknown-none
BUILD       := build
IMAGE       := $(BUILD)/bulkhead.img
GUESTS      := $(BUILD)/guests
LINUX       := $(BUILD)/linux
BARE_OUT    := target/$(BARE)/release
# Crates that exist only for bare metal, and the no_std libraries they use.
BARE_CRATES := -p bulkhead-loader -p bulkhead-core
NOSTD_LIBS  := -p bulkhead-netboot -p bulkhead-config -p bulkhead-vcpu -p bulkhead-svm \
               -p bulkhead-vmx -p bulkhead-vdevices -p bulkhead-netconsole
QEMU_CPU    := qemu64,+svm,+npt

.PHONY: all setup image guests linux run test lint host-test qemu-test fuzz bench clean

all: image

setup:
	@scripts/setup.sh

image: setup
	$(CARGO) build --release --target $(BARE) $(BARE_CRATES)
	$(CARGO) build --release -p bulkhead-cli
	@mkdir -p $(BUILD)
	target/release/bulkhead pack --loader $(BARE_OUT)/bulkhead-loader \
		--core $(BARE_OUT)/bulkhead-core -o $(IMAGE)

# The small bare-metal test guests (GNU as/ld), one per boot protocol and more.
guests:
	qemu-tests/guests/build.sh $(GUESTS)

DEFAULT_IMAGE := $(BUILD)/default.img

# Boots examples/default.toml: its partitions' consoles share this terminal.
# The stock Debian kernel and a busybox initramfs (downloads cached in build/cache).
linux: setup
	@scripts/linux-guest.sh $(LINUX)

run: image guests
	target/release/bulkhead build examples/default.toml -o $(DEFAULT_IMAGE)
	@echo "Partition consoles follow. Ctrl-] ? lists partitions; Ctrl-A X leaves QEMU."
	qemu-system-x86_64 -accel tcg -machine pc -cpu $(QEMU_CPU) -smp 5 -m 512M \
		-display none -serial mon:stdio -nic none -no-reboot -kernel $(DEFAULT_IMAGE)

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target $(BARE) $(BARE_CRATES) $(NOSTD_LIBS) -- -D warnings

host-test: setup
	$(CARGO) test --workspace --exclude bulkhead-qemu-tests

qemu-test: image linux
	BULKHEAD_IMAGE=$(abspath $(IMAGE)) BULKHEAD_CLI=$(abspath target/release/bulkhead) \
		BULKHEAD_LINUX=$(abspath $(LINUX)) \
		$(CARGO) test -p bulkhead-qemu-tests -- --test-threads 2

# Coverage-guided fuzzing, briefly: the compiled partition table's parser and the
# network console's datagram handling.
FUZZ_SECONDS ?= 20
fuzz: setup
	scripts/fuzz.sh config $(FUZZ_SECONDS)
	scripts/fuzz.sh netconsole $(FUZZ_SECONDS)

test: lint host-test qemu-test fuzz

# Measurements, not tests: Linux boot under Bulkhead against QEMU directly, and
# the network console's keystroke round trip and throughput under loss.
bench: image linux guests
	bench/linux_boot.py
	bench/netconsole.py

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
