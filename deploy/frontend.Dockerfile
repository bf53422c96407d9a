# syntax=docker/dockerfile:1
# Frontend image: the Angular chat page built with Node 20, served by the official nginx image
# with deploy/nginx/nginx.conf.template (the same config the local stack uses).
# Build from the repository root: docker build -f deploy/frontend.Dockerfile .

# ---- build the Angular app -----------------------------------------------------------------------
FROM node:20-bookworm-slim AS build

ENV NG_CLI_ANALYTICS=false \
    CI=true

WORKDIR /src
COPY frontend-angular/package*.json ./
# `npm ci`: exactly package-lock.json, never re-resolved (the same command as `make frontend-install`).
RUN npm ci --no-audit --no-fund
COPY frontend-angular/ ./
RUN npx ng build \
 && test -f dist/chat/browser/index.html

# ---- serve ---------------------------------------------------------------------------------------
FROM nginx:1.30

# The image's entrypoint renders /etc/nginx/templates/*.template with envsubst (only variables set
# in the environment, so nginx's own $variables survive) into NGINX_ENVSUBST_OUTPUT_DIR: here the
# main /etc/nginx/nginx.conf. nginx keeps the image's defaults: master as root, workers as "nginx",
# logs to /var/log/nginx (linked to the container's stdout/stderr), temp files in /var/cache/nginx.
ENV NGINX_ENVSUBST_OUTPUT_DIR=/etc/nginx \
    NGINX_USER=nginx \
    NGINX_LISTEN=80 \
    NGINX_ROOT=/usr/share/nginx/html \
    NGINX_PREFIX=/var/cache/nginx \
    NGINX_LOG_DIR=/var/log/nginx \
    API_UPSTREAM=query-api:8000 \
    CSP_CONNECT_SRC="'self'" \
    NGINX_AUTH_PROXY=none

# Our nginx.conf does not include conf.d/; remove the stock site so nobody edits it by mistake.
RUN rm -f /etc/nginx/conf.d/default.conf \
 && rm -rf /usr/share/nginx/html/*

COPY deploy/nginx/nginx.conf.template /etc/nginx/templates/nginx.conf.template
# API_UPSTREAM may list several servers: this turns the list into `server` lines before the
# entrypoint's envsubst (it sources executable *.envsh files of /docker-entrypoint.d/ in order).
COPY --chmod=0755 deploy/nginx/api-upstream.envsh /docker-entrypoint.d/19-api-upstream.envsh
# NGINX_AUTH_PROXY (the authenticating proxy's addresses, or none) becomes the template's geo entries.
COPY --chmod=0755 deploy/nginx/auth-proxy.envsh /docker-entrypoint.d/18-auth-proxy.envsh
COPY --from=build /src/dist/chat/browser/ /usr/share/nginx/html/

EXPOSE 80
