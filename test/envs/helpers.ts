// Shared set-up of the env tests: a real Docker engine, the base image and the bundled tasks'
// images (built once; `scripts/setup.sh` normally has them ready).
import { DockerBackend, buildImages, loadTasks, baseImageTag, type Task } from "../../envs/index.js";

let ready: Promise<{ backend: DockerBackend; tasks: Task[] }> | undefined;

export function dockerEnv(): Promise<{ backend: DockerBackend; tasks: Task[] }> {
  ready ??= (async () => {
    const backend = await DockerBackend.connect();
    const { tasks, errors } = await loadTasks("bundled");
    if (errors.length) throw errors[0];
    await buildImages(backend.docker, tasks);
    return { backend, tasks };
  })();
  return ready;
}

export const BASE_IMAGE = baseImageTag();

export function task(tasks: Task[], id: string): Task {
  const t = tasks.find((x) => x.id === id);
  if (!t) throw new Error(`no bundled task ${id}`);
  return t;
}
