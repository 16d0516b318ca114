/**
 * A real OpenSSH server on 127.0.0.1 for git over ssh: Debian's sshd,
 * run by the test as the user running it, with a host key made here and
 * an authorized key that may only run git-shell (as a hosting service's
 * `command=` restriction does), plus an ssh-agent holding that key.
 * `stop()` ends both by PID and removes every file.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./registry.js";
import "./isolated-home.js";

export const SSHD = "/usr/sbin/sshd";

export interface SshServer {
  port: number;
  /** The login user (the one running the test). */
  user: string;
  /** The known_hosts line for this server's host key. */
  knownHosts: string;
  /** The agent's socket, holding the authorized key. */
  agentSocket: string;
  /** An agent socket with no key in it. */
  emptyAgentSocket: string;
  /** `ssh://user@127.0.0.1:PORT` + an absolute repository path. */
  url(path: string): string;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid) {
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(child.pid, "SIGTERM");
    await exited;
  }
}

export async function startSshServer(): Promise<SshServer> {
  const dir = mkdtempSync(join(process.env.LADING_TEST_TMP ?? tmpdir(), "lading-sshd-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keygen = (name: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", join(dir, name)]);
    keygen("host_key");
    keygen("user_key");
    writeFileSync(join(dir, "authorized_keys"), `command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",no-port-forwarding,no-pty,no-agent-forwarding ${readFileSync(join(dir, "user_key.pub"), "utf8")}`, { mode: 0o600 });
    const port = await freePort();
    const user = userInfo().username;
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(dir, "host_key")}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        // The test's temp dirs are not root-owned all the way up, as StrictModes wants.
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        `AllowUsers ${user}`,
      ].join("\n") + "\n",
    );
    // sshd run as root wants its privilege separation directory (Debian's service makes it at start).
    if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const log = openSync(join(dir, "sshd.log"), "a");
    const sshd = spawn(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: ["ignore", log, log] });
    children.push(sshd);
    await waitForPort(port, sshd, join(dir, "sshd.log"), "sshd");
    const agent = async (name: string, key?: string) => {
      const sock = join(dir, name);
      const agentLog = join(dir, `${name}.log`);
      const a = spawn("ssh-agent", ["-D", "-a", sock], { stdio: ["ignore", "ignore", openSync(agentLog, "a")] });
      children.push(a);
      // The socket file appears when bound, a moment before the agent listens: wait until it answers.
      await waitForPort(sock, a, agentLog, "ssh-agent");
      if (key) execFileSync("ssh-add", ["-q", key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: ["ignore", "ignore", "pipe"] });
      return sock;
    };
    const agentSocket = await agent("agent.sock", join(dir, "user_key"));
    const emptyAgentSocket = await agent("empty-agent.sock");
    const hostKey = readFileSync(join(dir, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    return { port, user, knownHosts: `[127.0.0.1]:${port} ${hostKey}\n`, agentSocket, emptyAgentSocket, url: (p) => `ssh://${user}@127.0.0.1:${port}${p}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
