# apierr in a container: a static binary on a minimal base, run as non-root.
#
#   docker build -t apierr:dev --build-arg VERSION=v1.2.3 .
#   docker run --rm apierr:dev version
#
# The daemon on a Kubernetes node: etc/kubernetes/apierr-daemonset.yaml.

# Build stage: mattn/go-sqlite3 needs cgo, so the Debian-based Go image
# (it has gcc and the C library's static archives). The binary is linked
# statically: osusergo and netgo keep the user and DNS lookups in Go, so no
# part of glibc is needed at run time, and sqlite_omit_load_extension drops
# the dlopen of SQLite extensions, which a static binary cannot do.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN CGO_ENABLED=1 go build -trimpath \
      -tags 'osusergo netgo sqlite_omit_load_extension' \
      -ldflags "-s -w -X main.Version=${VERSION} -linkmode external -extldflags -static" \
      -o /out/apierr ./cmd/apierr \
 && /out/apierr version

# Run stage: no shell, no package manager, no libc; CA certificates and
# time zones only. The nonroot variant's user is 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/apierr /usr/bin/apierr
USER 65532:65532
# /metrics and /healthz, when the config's metrics_listen is :9464.
EXPOSE 9464
ENTRYPOINT ["/usr/bin/apierr"]
CMD ["run"]
