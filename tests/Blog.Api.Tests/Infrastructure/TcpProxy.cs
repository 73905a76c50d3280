using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// A TCP proxy between the service and PostgreSQL that a test can break: Cut() drops every
/// connection and refuses new ones (a database that went away), Blackhole() accepts and
/// swallows everything on new and open connections (a network that silently eats packets),
/// Restore() heals both (connections swallowed from stay useless; the service must drop them).
/// Forget() swallows everything on the connections open now and forwards new ones: a NAT or a
/// database that forgot a connection while its client was suspended. With <see cref="Delay"/>,
/// what the server sends reaches the clients that much later, all of them through one queue in
/// the order it came, so that two clients hear the same message at the same moment.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    enum Mode { Forward, Refuse, Blackhole }

    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly IPEndPoint target;
    readonly ConcurrentDictionary<Socket, bool> sockets = new();
    readonly ConcurrentDictionary<Socket, bool> forgotten = new();
    readonly CancellationTokenSource stop = new();
    volatile Mode mode = Mode.Forward;
    readonly System.Threading.Channels.Channel<(long Due, Socket To, byte[] Data)> delayed = System.Threading.Channels.Channel.CreateUnbounded<(long, Socket, byte[])>();
    Task? delivering;

    /// <summary>How much later what the server sends reaches the client (zero: at once).</summary>
    public TimeSpan Delay { get; init; }

    public TcpProxy(string host, int port)
    {
        target = new IPEndPoint(IPAddress.Parse(host == "localhost" ? "127.0.0.1" : host), port);
        listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public void Cut()
    {
        mode = Mode.Refuse;
        CloseAll();
    }

    public void Blackhole() => mode = Mode.Blackhole;

    public void Restore() => mode = Mode.Forward;

    public void Forget()
    {
        foreach (var socket in sockets.Keys) forgotten[socket] = true;
    }

    void CloseAll()
    {
        foreach (var socket in sockets.Keys)
        {
            try { socket.Close(0); } catch (ObjectDisposedException) { }
            sockets.TryRemove(socket, out _);
        }
    }

    async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptSocketAsync(stop.Token); }
            catch (Exception) { return; }
            switch (mode)
            {
                case Mode.Refuse:
                    client.Close(0);
                    break;
                case Mode.Blackhole:
                    sockets[client] = true;  // held open, never answered
                    break;
                default:
                    _ = ForwardAsync(client);
                    break;
            }
        }
    }

    async Task ForwardAsync(Socket client)
    {
        var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
        sockets[client] = true;
        sockets[server] = true;
        try
        {
            await server.ConnectAsync(target, stop.Token);
            await Task.WhenAny(PumpAsync(client, server), Delay > TimeSpan.Zero ? DelayAsync(server, client) : PumpAsync(server, client));
        }
        catch (Exception)
        {
            // a cut connection
        }
        finally
        {
            foreach (var socket in new[] { client, server })
            {
                sockets.TryRemove(socket, out _);
                socket.Dispose();
            }
        }
    }

    async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
            if (read == 0 || mode == Mode.Refuse) return;
            if (mode == Mode.Blackhole || forgotten.ContainsKey(from)) continue;  // swallowed: the other side waits in vain
            await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, stop.Token);
        }
    }

    async Task DelayAsync(Socket from, Socket to)
    {
        lock (delayed) delivering ??= DeliverAsync();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
            if (read == 0 || mode == Mode.Refuse) return;
            await delayed.Writer.WriteAsync((System.Diagnostics.Stopwatch.GetTimestamp() + (long)(Delay.TotalSeconds * System.Diagnostics.Stopwatch.Frequency), to, buffer[..read]), stop.Token);
        }
    }

    async Task DeliverAsync()
    {
        await foreach (var (due, to, data) in delayed.Reader.ReadAllAsync(stop.Token))
        {
            // A timer wakes late, so whatever came within that slack after this is due already: sent at once, in order.
            var wait = System.Diagnostics.Stopwatch.GetElapsedTime(System.Diagnostics.Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero) await Task.Delay(wait, stop.Token);
            try { await to.SendAsync(data, SocketFlags.None, stop.Token); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }  // that client is gone
        }
    }

    public ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        CloseAll();
        return ValueTask.CompletedTask;
    }
}
