# The coordinator: a static binary on distroless (CA certificates, tzdata,
# no shell), running as an unprivileged user. Build from the repository root:
#   docker build -f deploy/coordinator.Dockerfile -t nightshift-coordinator .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/nightshift-coordinator ./coordinator \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nightshift-coordinator /nightshift-coordinator
# The data directory holds the embedded database and the generated operator
# key; with PostgreSQL and NIGHTSHIFT_OPERATOR_KEY it stays empty.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV NIGHTSHIFT_ADDR=:8080 \
    NIGHTSHIFT_DATA=/data \
    NIGHTSHIFT_LOG_FORMAT=json
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["/nightshift-coordinator"]
CMD ["serve"]
