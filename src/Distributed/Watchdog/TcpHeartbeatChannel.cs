using System.Net.Sockets;

namespace MultiLora.Distributed.Watchdog;

/// <summary>Heartbeats over the rendezvous connections; a socket that reads end-of-stream or errors is a broken peer.</summary>
public sealed class TcpHeartbeatChannel(IReadOnlyDictionary<int, Socket> peers) : IHeartbeatChannel
{
    const int MessageBytes = Heartbeat.Words * sizeof(long);
    readonly Dictionary<int, byte[]> _partial = peers.Keys.ToDictionary(p => p, _ => Array.Empty<byte>());
    readonly HashSet<int> _broken = [];

    public IReadOnlyCollection<int> Broken => _broken;

    public void Send(int peer, Heartbeat beat)
    {
        if (_broken.Contains(peer) || !peers.TryGetValue(peer, out var socket)) return;
        var words = new long[Heartbeat.Words];
        beat.WriteTo(words);
        var bytes = new byte[MessageBytes];
        Buffer.BlockCopy(words, 0, bytes, 0, MessageBytes);
        try
        {
            if (socket.Poll(0, SelectMode.SelectWrite)) socket.Send(bytes);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { _broken.Add(peer); }
    }

    public IReadOnlyList<(int Peer, Heartbeat Beat)> Receive()
    {
        var arrived = new List<(int, Heartbeat)>();
        foreach (var (peer, socket) in peers)
        {
            if (_broken.Contains(peer)) continue;
            try
            {
                while (socket.Poll(0, SelectMode.SelectRead))
                {
                    var chunk = new byte[Math.Max(socket.Available, 1)];
                    int n = socket.Receive(chunk);
                    if (n == 0) { _broken.Add(peer); break; }   // end of stream: the process is gone
                    var data = _partial[peer].Concat(chunk.Take(n)).ToArray();
                    int whole = data.Length / MessageBytes * MessageBytes;
                    for (int offset = 0; offset < whole; offset += MessageBytes)
                    {
                        var words = new long[Heartbeat.Words];
                        Buffer.BlockCopy(data, offset, words, 0, MessageBytes);
                        arrived.Add((peer, Heartbeat.ReadFrom(words)));
                    }
                    _partial[peer] = data[whole..];
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { _broken.Add(peer); }
        }
        return arrived;
    }

    public void Flush(TimeSpan timeout) { }   // Send hands the bytes to the kernel, which delivers them after exit too

    public void Dispose() { }   // the rendezvous owns the sockets
}
