# syntax=docker/dockerfile:1
#
# One image per service from one file:
#   docker build --build-arg SERVICE=intake -t aftersales/intake:0.1.0 .
# SERVICE is a crate (and binary) name: intake, claims-review, procurement, warehouse,
# logistics, field-service, feedback or gateway.
#
# Stages: chef (toolchain + cargo-chef) → planner (recipe of the dependency graph) →
# builder (dependencies cooked in their own layer, then the service) → runtime (distroless,
# non-root, nothing but the binary). The dependency layer is the same for every SERVICE, so
# the eight builds share it and a source change rebuilds only the workspace crates.
# protoc comes from the protoc-bin-vendored crate in proto/build.rs: no apt step for it.

# Keep in step with rust-toolchain.toml. Bookworm matches the distroless debian12 runtime's glibc.
ARG RUST_VERSION=1.95.0
ARG CARGO_CHEF_VERSION=^0.1

FROM rust:${RUST_VERSION}-bookworm AS chef
ARG RUST_VERSION
ARG CARGO_CHEF_VERSION
# Use the image's toolchain as is: rust-toolchain.toml would otherwise make rustup download the
# rustfmt and clippy components, which a release build does not need.
ENV RUSTUP_TOOLCHAIN=${RUST_VERSION} \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Every workspace member's dependencies, independent of SERVICE: cached until Cargo.lock or a
# manifest changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
ARG SERVICE
# The binary keeps its crate name; ENTRYPOINT cannot expand a build arg, so it names a fixed
# symlink that points at the binary chosen by SERVICE.
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<crate name>" >&2; exit 1; } \
 && cargo build --release --locked --package "${SERVICE}" --bin "${SERVICE}" \
 && mkdir -p /out/bin \
 && cp "target/release/${SERVICE}" "/out/bin/${SERVICE}" \
 && ln -s "${SERVICE}" /out/bin/aftersales-service

# distroless/cc: glibc, libgcc, CA certificates, no shell; "nonroot" is uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="aftersales-${SERVICE}" \
      org.opencontainers.image.description="After-sales service mesh: ${SERVICE}" \
      org.opencontainers.image.licenses="Apache-2.0"
# Copying the directory keeps the symlink a symlink.
COPY --from=builder /out/bin/ /usr/local/bin/
# Nothing is written outside /tmp (an emptyDir in Kubernetes), so the root filesystem can be
# mounted read-only.
ENV TMPDIR=/tmp
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/aftersales-service"]
CMD ["serve"]
