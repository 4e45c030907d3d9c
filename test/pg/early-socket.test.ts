/**
 * The db CLI opens its TCP connection before loading pg and hands it over
 * (lib/db-cli/early-socket.ts). On the real server: pg must log in (SCRAM)
 * and query over the socket whether it is handed over before or after the
 * connection is up, and a refused connection must fail pg's connect with the
 * refusal, not crash the process from an unheard 'error' event.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { EarlySocket } from '../../lib/db-cli/early-socket';
import { serverUrl } from '../support/pg-database';

const { hostname: host, port } = new URL(serverUrl());

async function queryOver(socket: EarlySocket): Promise<unknown> {
  const client = new Client({ connectionString: serverUrl(), stream: () => socket });
  await client.connect();
  try {
    return (await client.query<{ answer: number }>('SELECT 6 * 7 AS answer')).rows[0].answer;
  } finally {
    await client.end();
  }
}

describe('a connection opened before pg is loaded', () => {
  it('is adopted by pg while it is still connecting', async () => {
    const socket = new EarlySocket(Number(port), host);
    expect(socket.connecting).toBe(true);
    expect(await queryOver(socket)).toBe(42);
  });

  it('is adopted by pg after it has connected (pg hears the connect it missed)', async () => {
    const socket = new EarlySocket(Number(port), host);
    await once(socket, 'connect');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await queryOver(socket)).toBe(42);
  });

  it('keeps what the server sent before pg listened', async () => {
    // A server that speaks first: its bytes must wait for pg's reader, not be lost.
    const fields = Buffer.from('SFATAL\0C53300\0Mtoo many\0\0');
    const length = Buffer.alloc(4);
    length.writeInt32BE(fields.length + 4);
    const server = createServer((conn) => conn.end(Buffer.concat([Buffer.from('E'), length, fields])));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const serverPort = (server.address() as { port: number }).port;
    try {
      const socket = new EarlySocket(serverPort, '127.0.0.1');
      await once(socket, 'connect');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const client = new Client({ host: '127.0.0.1', port: serverPort, user: 'x', password: 'y', stream: () => socket });
      client.on('error', () => {});
      await expect(client.connect()).rejects.toMatchObject({ code: '53300', message: 'too many' });
    } finally {
      server.close();
    }
  });

  it('reports a refusal that came before pg listened, through pg', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));

    const socket = new EarlySocket(closedPort, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 50)); // refused by now, with only the socket's own listener
    const client = new Client({ host: '127.0.0.1', port: closedPort, user: 'x', password: 'y', stream: () => socket });
    await expect(client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('refuses to be adopted for another address than it connected to', () => {
    const socket = new EarlySocket(Number(port), host);
    try {
      expect(() => socket.connect(Number(port) + 1, host)).toThrow(/opened to .* not /);
    } finally {
      socket.destroy();
    }
  });
});
