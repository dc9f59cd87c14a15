# The meetcoord image: a static binary on an empty base, run as a non-root user.
#   docker build -t meetcoord .          (needs the golang image from a registry)
#   make image                           (no registry: buildah from scratch, scripts/image.sh)
# Both give the same image: /meetcoord, the CA bundle, user 65532, LISTEN_ADDR=:8080,
# entry point `meetcoord serve`. The front end is not in it (FRONTEND_DIR on a volume, or served
# by its own deployment).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /out/meetcoord ./cmd/meetcoord

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/meetcoord /meetcoord
USER 65532:65532
ENV LISTEN_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/meetcoord", "serve"]
