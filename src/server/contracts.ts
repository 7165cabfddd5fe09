/**
 * The HTTP API's contracts, written once: they validate requests, type the handlers and make the
 * OpenAPI document served at /api/openapi.json.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { JOB_STATUSES } from "../core/job.js";

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "not_found" }),
      message: z.string().openapi({ example: "job 01j9… does not exist" }),
    }),
  })
  .openapi("Error");

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: ERROR_TEXT[c] ?? "error", content: { "application/json": { schema: ErrorBody } } }]));
const ERROR_TEXT: Record<number, string> = {
  400: "bad input: the message names the field and what is allowed",
  403: "read-only server, or a cross-site request",
  404: "no such job or queue",
  409: "a transition the job's status does not allow",
};

export const JobView = z
  .object({
    id: z.string(),
    queue: z.string(),
    kind: z.string(),
    status: z.enum(JOB_STATUSES),
    priority: z.string(),
    position: z.number(),
    attempts: z.number().int().openapi({ description: "Attempts spent against maxAttempts; a retry from a person gives a fresh budget" }),
    attempt: z.number().int().openapi({ description: "The number of the latest attempt (0 before the first); never reused" }),
    maxAttempts: z.number().int(),
    exitCode: z.number().int().nullable(),
    error: z.string().nullable(),
    reason: z.string().nullable(),
    dependsOn: z.array(z.string()),
    createdAt: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    runAt: z.string().nullable(),
    command: z.array(z.string()).nullable(),
    shell: z.string().nullable(),
    cwd: z.string().nullable(),
    name: z.string().nullable(),
    target: z.string().nullable(),
  })
  .passthrough()
  .openapi("Job");

const Id = z.object({ id: z.string().min(1).openapi({ param: { name: "id", in: "path" }, example: "01j9zq4m3k6s8x2v0c7b5n1r9t" }) });
const QueueName = z.object({ name: z.string().min(1).openapi({ param: { name: "name", in: "path" }, example: "default" }) });

export const JobSpecBody = z
  .object({
    kind: z.string().optional().openapi({ description: "a handler's kind; shell jobs are built from command or shell" }),
    command: z.array(z.string()).min(1).optional().openapi({ description: "a shell job: argv, run without a shell" }),
    shell: z.string().min(1).optional().openapi({ description: "a shell job: a command line for /bin/sh -c" }),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    payload: z.unknown().optional(),
    queue: z.string().optional(),
    priority: z.union([z.string(), z.number()]).optional(),
    runAt: z.union([z.number(), z.string()]).optional(),
    delay: z.union([z.number(), z.string()]).optional(),
    dependsOn: z.array(z.string()).optional(),
    maxAttempts: z.number().int().optional(),
    backoff: z.unknown().optional(),
    timeout: z.union([z.number(), z.string()]).optional(),
    key: z.string().optional(),
    name: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    ref: z.string().optional(),
    target: z.string().optional(),
  })
  .strict()
  .openapi("JobSpec");

const ListQuery = z.object({
  queue: z.string().optional(),
  status: z.string().optional().openapi({ description: `comma-separated: ${JOB_STATUSES.join(", ")}` }),
  kind: z.string().optional(),
  target: z.string().optional(),
  search: z.string().optional().openapi({ description: "text in the job's name or command" }),
  order: z.enum(["queue", "recent", "added", "finished"]).optional(),
  after: z.string().optional().openapi({ description: "the `next` of the previous page" }),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

export const routes = {
  listJobs: createRoute({
    method: "get",
    path: "/api/jobs",
    tags: ["jobs"],
    summary: "Jobs, filtered and paged",
    request: { query: ListQuery },
    responses: { 200: json(z.object({ jobs: z.array(JobView), next: z.string().nullable() }), "a page of jobs"), ...errors(400) },
  }),
  addJobs: createRoute({
    method: "post",
    path: "/api/jobs",
    tags: ["jobs"],
    summary: "Add one job, or many in one transaction",
    request: { body: { required: true, content: { "application/json": { schema: z.union([JobSpecBody, z.object({ jobs: z.array(JobSpecBody).min(1) }).strict()]) } } } },
    responses: { 201: json(z.object({ jobs: z.array(JobView) }), "the jobs as stored"), ...errors(400, 403, 404) },
  }),
  getJob: createRoute({
    method: "get",
    path: "/api/jobs/{id}",
    tags: ["jobs"],
    summary: "A job with its attempts, dependencies and escalation chain",
    request: { params: Id },
    responses: {
      200: json(
        z.object({
          job: JobView,
          attempts: z.array(z.object({ attempt: z.number(), outcome: z.string(), exitCode: z.number().nullable(), error: z.string().nullable(), startedAt: z.number(), finishedAt: z.number(), workerId: z.string().nullable() }).passthrough()),
          dependencies: z.array(z.object({ id: z.string(), status: z.string(), name: z.string().nullable() })),
          chain: z.array(z.object({ id: z.string(), status: z.string(), kind: z.string(), queue: z.string() })),
        }),
        "the job",
      ),
      ...errors(404),
    },
  }),
  jobLog: createRoute({
    method: "get",
    path: "/api/jobs/{id}/log",
    tags: ["jobs"],
    summary: "A shell job's output from a byte offset (on a target: fetched from the server)",
    request: { params: Id, query: z.object({ offset: z.coerce.number().int().min(0).optional(), attempt: z.coerce.number().int().min(1).optional() }) },
    responses: { 200: json(z.object({ offset: z.number(), size: z.number(), text: z.string(), running: z.boolean() }), "output from the offset"), ...errors(404) },
  }),
  jobAction: createRoute({
    method: "post",
    path: "/api/jobs/{id}/{action}",
    tags: ["jobs"],
    summary: "cancel, retry (requeue), or skip a job",
    request: { params: Id.extend({ action: z.enum(["cancel", "retry", "requeue", "skip"]).openapi({ param: { name: "action", in: "path" } }) }) },
    responses: { 200: json(z.object({ job: JobView }), "the job after the change"), ...errors(403, 404, 409) },
  }),
  moveJob: createRoute({
    method: "post",
    path: "/api/jobs/{id}/move",
    tags: ["jobs"],
    summary: "Move a waiting job: top, bottom, up, down, or before/after another",
    request: {
      params: Id,
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z.object({ to: z.union([z.enum(["top", "bottom", "up", "down"]), z.object({ before: z.string() }).strict(), z.object({ after: z.string() }).strict()]) }).strict(),
          },
        },
      },
    },
    responses: { 200: json(z.object({ job: JobView }), "the job at its new place"), ...errors(400, 403, 404, 409) },
  }),
  listQueues: createRoute({
    method: "get",
    path: "/api/queues",
    tags: ["queues"],
    summary: "Queues with their state, concurrency, counts by status and durations",
    responses: { 200: json(z.object({ queues: z.array(z.object({ queue: z.string(), state: z.string(), concurrency: z.number().nullable(), counts: z.record(z.string(), z.number()) }).passthrough()) }), "every queue") },
  }),
  queueAction: createRoute({
    method: "post",
    path: "/api/queues/{name}/{action}",
    tags: ["queues"],
    summary: "start (resume), pause or stop a queue",
    request: { params: QueueName.extend({ action: z.enum(["start", "resume", "pause", "stop"]).openapi({ param: { name: "action", in: "path" } }) }) },
    responses: { 200: json(z.object({ queue: z.object({ name: z.string(), state: z.string(), concurrency: z.number().nullable() }).passthrough() }), "the queue"), ...errors(403, 404) },
  }),
  setQueue: createRoute({
    method: "put",
    path: "/api/queues/{name}",
    tags: ["queues"],
    summary: "Set a queue's concurrency (null: no limit); the queue is made if new",
    request: { params: QueueName, body: { required: true, content: { "application/json": { schema: z.object({ concurrency: z.number().int().min(1).nullable() }).strict() } } } },
    responses: { 200: json(z.object({ queue: z.object({ name: z.string(), state: z.string(), concurrency: z.number().nullable() }).passthrough() }), "the queue"), ...errors(400, 403) },
  }),
  listTargets: createRoute({
    method: "get",
    path: "/api/targets",
    tags: ["targets"],
    summary: "Remote targets, their jobs and whether they could be reached",
    responses: { 200: json(z.object({ targets: z.array(z.object({ name: z.string(), host: z.string(), reachable: z.boolean().nullable(), message: z.string().nullable() }).passthrough()) }), "every target") },
  }),
  listCrons: createRoute({
    method: "get",
    path: "/api/crons",
    tags: ["cron"],
    summary: "Cron schedules and their next tick",
    responses: { 200: json(z.object({ crons: z.array(z.object({ name: z.string(), pattern: z.string() }).passthrough()) }), "every schedule") },
  }),
  stats: createRoute({
    method: "get",
    path: "/api/stats",
    tags: ["stats"],
    summary: "Per-queue stats, and completions and durations per minute over the last hour",
    responses: {
      200: json(
        z.object({
          queues: z.array(z.object({ queue: z.string() }).passthrough()),
          timeline: z.array(z.object({ at: z.number(), completed: z.number(), failed: z.number(), meanMs: z.number().nullable() })),
          workers: z.number(),
        }),
        "stats",
      ),
    },
  }),
};
