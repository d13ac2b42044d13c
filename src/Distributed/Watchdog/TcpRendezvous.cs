using System.Net;
using System.Net.Sockets;

namespace MultiLora.Distributed.Watchdog;

/// <summary>
/// torchrun-style start-up without MPI: rank 0 listens at MASTER_ADDR:MASTER_PORT, every other rank connects and
/// says its rank, rank 0 answers each with the same payload (NCCL's 128-byte unique id). The connections stay
/// open afterwards and carry the heartbeats (<see cref="TcpHeartbeatChannel"/>), so a rank whose process dies is
/// noticed when the kernel closes its socket. No tensor data ever travels here.
/// </summary>
public sealed class TcpRendezvous : IDisposable
{
    readonly Dictionary<int, Socket> _peers;

    TcpRendezvous(Dictionary<int, Socket> peers, byte[] payload)
    {
        _peers = peers;
        Payload = payload;
    }

    /// <summary>Rank 0's payload, as every rank received it.</summary>
    public byte[] Payload { get; }

    /// <summary>Open connections by peer rank: every other rank on rank 0, rank 0 alone elsewhere.</summary>
    public IReadOnlyDictionary<int, Socket> Peers => _peers;

    /// <param name="payload">Rank 0's bytes to hand out (ignored on the other ranks; their copy is returned in <see cref="Payload"/>).</param>
    public static TcpRendezvous Connect(int rank, int world, string address, int port, byte[] payload, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        return rank == 0 ? Serve(world, port, payload, deadline) : Join(rank, world, address, port, payload.Length, deadline);
    }

    static TcpRendezvous Serve(int world, int port, byte[] payload, DateTime deadline)
    {
        using var listener = new TcpListener(IPAddress.Any, port);
        try { listener.Start(); }
        catch (SocketException e) { throw new IOException($"rendezvous: cannot listen on MASTER_PORT={port} ({e.Message})"); }
        var peers = new Dictionary<int, Socket>();
        try
        {
            while (peers.Count < world - 1)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !listener.Server.Poll((int)Math.Min(left.TotalMicroseconds, int.MaxValue), SelectMode.SelectRead))
                    throw new TimeoutException($"rendezvous: {peers.Count} of {world - 1} ranks connected to port {port} before the timeout; missing rank(s) {string.Join(", ", Enumerable.Range(1, world - 1).Where(r => !peers.ContainsKey(r)))}");
                var socket = listener.AcceptSocket();
                socket.NoDelay = true;
                int rank = BitConverter.ToInt32(ReceiveExactly(socket, sizeof(int), deadline));
                if (rank <= 0 || rank >= world || peers.ContainsKey(rank))
                {
                    socket.Dispose();
                    throw new InvalidDataException($"rendezvous: a process announced rank {rank}, which is {(peers.ContainsKey(rank) ? "taken" : $"not a rank of a world of {world}")} (RANK/WORLD_SIZE disagree between processes?)");
                }
                socket.Send(payload);
                peers[rank] = socket;
            }
            return new TcpRendezvous(peers, payload);
        }
        catch
        {
            foreach (var s in peers.Values) s.Dispose();
            throw;
        }
    }

    static TcpRendezvous Join(int rank, int world, string address, int port, int payloadBytes, DateTime deadline)
    {
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Connect(address, port);
                socket.Send(BitConverter.GetBytes(rank));
                var payload = ReceiveExactly(socket, payloadBytes, deadline);
                return new TcpRendezvous(new Dictionary<int, Socket> { [0] = socket }, payload);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                socket.Dispose();
                last = e;
                Thread.Sleep(200);   // rank 0 may not be listening yet
            }
        }
        throw new TimeoutException($"rendezvous: rank {rank} of {world} could not reach rank 0 at MASTER_ADDR={address} MASTER_PORT={port} ({last?.Message ?? "timeout"})");
    }

    static byte[] ReceiveExactly(Socket socket, int count, DateTime deadline)
    {
        var buffer = new byte[count];
        int done = 0;
        while (done < count)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !socket.Poll((int)Math.Min(left.TotalMicroseconds, int.MaxValue), SelectMode.SelectRead))
                throw new TimeoutException($"rendezvous: no answer from {socket.RemoteEndPoint}");
            int n = socket.Receive(buffer, done, count - done, SocketFlags.None);
            if (n == 0) throw new IOException($"rendezvous: {socket.RemoteEndPoint} closed the connection");
            done += n;
        }
        return buffer;
    }

    public void Dispose()
    {
        foreach (var socket in _peers.Values) socket.Dispose();
    }
}
