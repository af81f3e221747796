# The worker, the HTTP server and the migrations share one image; docker-compose.yml and the Kubernetes
# manifests pick the command (node dist/worker/main.js | dist/client/http/main.js | dist/worker/migrate.js).
# The admin CLI is `node bin/calendar-sync.js` (it runs the compiled CLI from dist/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/bin ./bin
COPY package.json ./
USER node
# The worker's health and metrics listener (WORKER_HTTP_PORT) and the web service's port.
EXPOSE 9464 3000
CMD ["node", "dist/worker/main.js"]
