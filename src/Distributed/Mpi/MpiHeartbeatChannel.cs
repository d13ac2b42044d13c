using System.Diagnostics;
using System.Runtime.InteropServices;
using MultiLora.Distributed.Watchdog;

namespace MultiLora.Distributed.Mpi;

/// <summary>
/// Heartbeats as MPI point-to-point messages on a communicator of their own (so they never match a collective's
/// traffic). One receive stays posted per peer and one send may be in flight per peer; buffers are native memory
/// because MPI fills them after the call returns. Used from one thread at a time (the watchdog's, then the main
/// thread's at the end), alongside the main thread's collectives: MPI runs with MPI_THREAD_MULTIPLE.
/// </summary>
sealed unsafe class MpiHeartbeatChannel : IHeartbeatChannel
{
    const int Tag = 7301;
    readonly MpiLibrary _mpi;
    readonly nint _comm;
    readonly int[] _peers;
    readonly long*[] _recvBuffers, _sendBuffers;
    readonly nint[] _recvRequests, _sendRequests;
    readonly int _words = Heartbeat.Words;

    public MpiHeartbeatChannel(MpiLibrary mpi, nint comm, IEnumerable<int> peers, int worldSize)
    {
        _mpi = mpi;
        _comm = comm;
        _peers = [.. peers];
        _recvBuffers = new long*[worldSize];
        _sendBuffers = new long*[worldSize];
        _recvRequests = new nint[worldSize];
        _sendRequests = new nint[worldSize];
        foreach (var peer in _peers)
        {
            // never freed: MPI may still own them until MPI_Finalize, and they are 48 bytes per peer
            _recvBuffers[peer] = (long*)NativeMemory.AllocZeroed((nuint)(_words * sizeof(long)));
            _sendBuffers[peer] = (long*)NativeMemory.AllocZeroed((nuint)(_words * sizeof(long)));
            PostReceive(peer);
        }
    }

    public IReadOnlyCollection<int> Broken => [];

    void PostReceive(int peer)
    {
        nint request = 0;
        _mpi.Check(_mpi.Irecv(_recvBuffers[peer], _words * sizeof(long), _mpi.Abi.Byte, peer, Tag, _comm, &request), "MPI_Irecv (heartbeat)");
        _recvRequests[peer] = request;
    }

    public void Send(int peer, Heartbeat beat)
    {
        if (!Completed(ref _sendRequests[peer])) return;   // the previous beat has not left yet: skip this one
        beat.WriteTo(new Span<long>(_sendBuffers[peer], _words));
        nint request = 0;
        // a failed send (a peer gone on a TCP link) is what the silence check will report: not an error here
        if (_mpi.Isend(_sendBuffers[peer], _words * sizeof(long), _mpi.Abi.Byte, peer, Tag, _comm, &request) == MpiAbi.Success)
            _sendRequests[peer] = request;
    }

    public IReadOnlyList<(int Peer, Heartbeat Beat)> Receive()
    {
        var arrived = new List<(int, Heartbeat)>();
        foreach (var peer in _peers)
        {
            // drain: several beats may be queued behind the one just completed
            for (int i = 0; i < 64 && _recvRequests[peer] != 0 && Completed(ref _recvRequests[peer]); i++)
            {
                arrived.Add((peer, Heartbeat.ReadFrom(new ReadOnlySpan<long>(_recvBuffers[peer], _words))));
                PostReceive(peer);
            }
        }
        return arrived;
    }

    public void Flush(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout && _peers.Any(p => !Completed(ref _sendRequests[p]))) Thread.Sleep(5);
    }

    /// <summary>MPI_Test; a null request counts as complete. A failed test (peer gone) leaves the request as it is.</summary>
    bool Completed(ref nint request)
    {
        if (request == 0) return true;
        int flag = 0;
        var status = stackalloc byte[MpiAbi.StatusBytes];
        nint r = request;
        if (_mpi.Test(&r, &flag, status) != MpiAbi.Success) return false;
        if (flag != 0) request = 0;
        return flag != 0;
    }

    public void Dispose()
    {
        foreach (var peer in _peers)
        {
            nint r = _recvRequests[peer];
            if (r == 0) continue;
            _mpi.Cancel(&r);
            _mpi.RequestFree(&r);
            _recvRequests[peer] = 0;
        }
    }
}
