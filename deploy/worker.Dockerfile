# The worker: a static binary on distroless, running as an unprivileged user.
# A container has no keyboard or mouse to watch, so it computes whenever its
# CPU share allows; bound it with the container's CPU and memory limits.
# Build from the repository root:
#   docker build -f deploy/worker.Dockerfile -t nightshift-worker .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/nightshift-worker ./worker \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nightshift-worker /nightshift-worker
# The state directory keeps the host token, checkpoints and the benchmark:
# mount a volume so a restarted container resumes instead of attaching again.
COPY --from=build --chown=65532:65532 /out/state /state
USER 65532:65532
# NIGHTSHIFT_COORDINATOR and NIGHTSHIFT_ACCOUNT_KEY are given at run time.
ENV NIGHTSHIFT_WORKER_STATE=/state
VOLUME /state
ENTRYPOINT ["/nightshift-worker"]
CMD ["run", "--idle-minutes", "0", "--max-other-cpu", "100"]
