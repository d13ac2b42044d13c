using MultiLora.Language;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Sessions;
using MultiLora.Lora.Adapters;
using MultiLora.Serve.Metrics;
using static TorchSharp.torch;

namespace MultiLora.Serve.Engine;

/// <summary>
/// Iteration-level (continuous) batching, apart from HTTP handling, on two threads. The prefill thread takes waiting
/// requests while the batch has room: each runs its prompt alone (a prefill, computed as `multilora generate`
/// computes it) and waits, with its keys and values, to join. The model thread, between two decode steps, runs
/// adapter loads and unloads (the prefill thread paused), drops requests whose client went away and joins the
/// prefilled ones to the batch cache; a decode step then feeds every running request's last token at its own
/// position; each LoRA layer adds each row's own adapter, and each row picks its token with its own settings. A
/// request that ends leaves the batch at once. Why two threads: a prompt costs several decode steps, and run on the
/// model thread it would stall every running request for that long (the disaggregated prefill of DistServe and
/// vLLM, here within one process); on a machine with a core to spare the two overlap. When prompts back up behind
/// the prefill thread while the batch has room, the model thread takes one before its next step.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    readonly LlavaSession _session;
    readonly SchedulerOptions _options;
    readonly ServeMetrics _metrics;
    readonly AdapterRegistry _registry;
    readonly SavedModules _saved;
    readonly HashSet<int> _stopIds;
    readonly int _layers;

    readonly object _gate = new();
    readonly object _tokenizerGate = new();
    readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> _byteTokens = new();
    readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _tokenTexts = new();
    readonly Queue<GenerationJob> _pending = new();
    readonly Queue<Action> _commands = new();
    readonly SemaphoreSlim _wake = new(0);          // the model thread: a command, a prefilled row, a stop
    readonly SemaphoreSlim _prefillWake = new(0);   // the prefill thread: a request, a free slot, a stop
    // forward passes on either thread read the model; adapter loads and unloads change it, on the model thread
    readonly ReaderWriterLockSlim _modelLock = new(LockRecursionPolicy.NoRecursion);
    int _accepted;                    // queued + prefilling + ready + running, under _gate
    bool _stopping;
    DateTime _deadline = DateTime.MaxValue;
    // under _gate: rows prefilled and waiting to join the batch, rows in it, prompts being prefilled (by either thread),
    // and whether the prefill thread is to exit
    readonly List<(DecodeRow Row, KvCache Cache)> _ready = [];
    int _running;
    int _prefillsRunning;
    bool _prefillStop;

    readonly Thread _prefillThread;
    // model thread only
    readonly Thread _thread;
    readonly List<DecodeRow> _rows = [];
    readonly BatchKvCache _cache;
    List<LoraLinear> _loraModules = [];

    public string BaseModelId { get; }
    public SchedulerStats Stats { get; } = new();

    public BatchScheduler(LlavaSession session, string baseModelId, SchedulerOptions options, ServeMetrics metrics)
    {
        options.Validate();
        _session = session;
        _options = options;
        _metrics = metrics;
        BaseModelId = baseModelId;
        _registry = new AdapterRegistry(baseModelId);
        _saved = new SavedModules(session);
        _stopIds = new HashSet<int>(session.WithStops(new GenerationOptions()).StopTokenIds!);
        _layers = session.Model.Config.Text.NumLayers;
        _cache = new BatchKvCache(_layers) { PerRow = options.BatchInvariant };
        // every matrix product of the language model must hear the per-row setting, not only the adapters' layers
        if (options.BatchInvariant) LoraInjector.WrapLinears(session.Model, [LoraConfig.DefaultPrefix, "lm_head"]);
        _loraModules = LoraInjector.LoraModules(session.Model).Select(m => m.Module).ToList();
        _prefillThread = new Thread(PrefillLoop) { Name = "multilora-prefill", IsBackground = true };
        _thread = new Thread(Loop) { Name = "multilora-scheduler", IsBackground = true };
        _prefillThread.Start();
        _thread.Start();
    }

    /// <summary>The model's context length: a prompt plus its max_tokens must fit.</summary>
    public int ContextLength => _session.Model.Config.Text.MaxPositions;

    /// <summary>Adapters requests can use now, oldest first.</summary>
    public IReadOnlyList<AdapterEntry> Adapters
    {
        get { lock (_gate) return _registry.ReadyAdapters.ToList(); }
    }

    /// <summary>Accepts a request unless the queue is full, the model is unknown, or the server is stopping.</summary>
    public SubmitResult TrySubmit(GenerationJob job)
    {
        lock (_gate)
        {
            if (_stopping) return SubmitResult.ShuttingDown;
            if (!_registry.TryAcquire(job.Model, out var adapter)) return SubmitResult.UnknownModel;
            job.Adapter = adapter;
            if (_accepted >= _options.MaxBatch + _options.MaxQueue)
            {
                _registry.Release(adapter);
                return SubmitResult.QueueFull;
            }
            _accepted++;
            _pending.Enqueue(job);
            _metrics.QueueDepth.Set(_pending.Count);
        }
        Signal(_prefillWake);
        return SubmitResult.Accepted;
    }

    /// <summary>Whether a model id names the base or a ready adapter (checked again when the request is submitted).</summary>
    public bool Knows(string model)
    {
        lock (_gate)
        {
            bool known = _registry.TryAcquire(model, out var adapter);
            if (known) _registry.Release(adapter);
            return known;
        }
    }

    /// <summary>
    /// Runs tokenizer work (prompt encoding on request threads, decoding on the model thread) one call at a time:
    /// the tokenizer is not documented as thread-safe, and its calls are short.
    /// </summary>
    public T WithTokenizer<T>(Func<LlavaSession, T> work)
    {
        lock (_tokenizerGate) return work(_session);
    }

    /// <summary>Loads an adapter between two steps; fails for a taken name or a bad folder.</summary>
    public Task LoadAdapterAsync(string name, string dir)
    {
        lock (_gate) _registry.BeginLoad(name, dir);
        return OnModelThread(() =>
        {
            bool ok = false;
            try
            {
                _saved.Load(name, dir);
                _loraModules = LoraInjector.LoraModules(_session.Model).Select(m => m.Module).ToList();
                ok = true;
            }
            finally { lock (_gate) _registry.EndLoad(name, ok); }
        }, () => { lock (_gate) _registry.EndLoad(name, false); });
    }

    /// <summary>Unloads an adapter between two steps; refused while requests (queued or running) use it.</summary>
    public Task UnloadAdapterAsync(string name)
    {
        lock (_gate) _registry.BeginUnload(name);
        return OnModelThread(() =>
        {
            bool ok = false;
            try
            {
                _saved.Unload(name);
                ok = true;
            }
            finally { lock (_gate) _registry.EndUnload(name, ok); }
        }, () => { lock (_gate) _registry.EndUnload(name, false); });
    }

    Task OnModelThread(Action work, Action abandon)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_stopping)
            {
                abandon();
                throw new InvalidOperationException("the server is shutting down");
            }
            _commands.Enqueue(() =>
            {
                try { work(); done.SetResult(); }
                catch (Exception e) { done.SetException(e); }
            });
        }
        Signal(_wake);
        return done.Task;
    }

    /// <summary>
    /// Stops accepting requests and lets the accepted ones finish, for at most <paramref name="grace"/>; those
    /// still running then end with an error. Returns when the model thread has exited.
    /// </summary>
    public void Stop(TimeSpan grace)
    {
        BeginStop(grace);
        _thread.Join();
    }

    /// <summary>Stops accepting requests; accepted ones go on for at most <paramref name="grace"/> (the first call's grace counts).</summary>
    public void BeginStop(TimeSpan grace)
    {
        lock (_gate)
        {
            if (!_stopping) { _stopping = true; _deadline = DateTime.UtcNow + grace; }
        }
        Signal(_wake);
        Signal(_prefillWake);
    }

    public bool Stopping
    {
        get { lock (_gate) return _stopping; }
    }

    /// <summary>Requests accepted and not finished (queued or running).</summary>
    public int InFlight
    {
        get { lock (_gate) return _accepted; }
    }

    void Loop()
    {
        using var noGrad = no_grad();
        while (true)
        {
            RunCommands();
            bool stopping, pastDeadline;
            lock (_gate) { stopping = _stopping; pastDeadline = DateTime.UtcNow > _deadline; }
            if (pastDeadline)
            {
                AbandonAll("the server stopped before this request finished");
                return;
            }
            JoinReady();
            // a backlog of prompts (the prefill thread busy, more waiting) while the batch has room: this thread takes
            // one too, before its next step, so that rows do not wait on one thread's prompts while the batch runs short
            if (_rows.Count > 0 && TakeJob(backlogOnly: true) is { } extra)
            {
                RunPrefill(extra);
                JoinReady();
            }
            if (_rows.Count == 0)
            {
                bool drained;
                lock (_gate) drained = stopping && _pending.Count == 0 && _ready.Count == 0 && _prefillsRunning == 0;
                if (drained)
                {
                    StopPrefills();
                    RunCommands();
                    return;
                }
                _wake.Wait(TimeSpan.FromMilliseconds(200));
                continue;
            }
            var stepStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            try { Step(); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // a failed step leaves the batch in an unknown state: end its requests, keep serving new ones
                foreach (var row in _rows) End(row, new JobFailed($"generation failed: {e.Message}"));
                _rows.Clear();
                _cache.Dispose();
                SetRunning();
            }
            Stats.Decoded(System.Diagnostics.Stopwatch.GetElapsedTime(stepStarted));
            if (_options.StepDelay > TimeSpan.Zero) Thread.Sleep(_options.StepDelay);
        }
    }

    void RunCommands()
    {
        while (true)
        {
            Action? command;
            lock (_gate) if (!_commands.TryDequeue(out command)) return;
            // waits for a running prefill to end; the next one waits for the command
            _modelLock.EnterWriteLock();
            try { command(); }
            finally { _modelLock.ExitWriteLock(); }
        }
    }

    /// <summary>Wakes a thread waiting on <paramref name="wake"/>; a count of one is enough for any number of signals.</summary>
    static void Signal(SemaphoreSlim wake)
    {
        if (wake.CurrentCount == 0) wake.Release();
    }

    /// <summary>Queued requests whose client went away leave the queue at once (they would hold places others could take).</summary>
    void PurgeCancelled()
    {
        List<GenerationJob> gone;
        lock (_gate)
        {
            if (!_pending.Any(j => j.Cancellation.IsCancellationRequested)) return;
            gone = _pending.Where(j => j.Cancellation.IsCancellationRequested).ToList();
            var stay = _pending.Where(j => !j.Cancellation.IsCancellationRequested).ToList();
            _pending.Clear();
            foreach (var j in stay) _pending.Enqueue(j);
            _metrics.QueueDepth.Set(_pending.Count);
        }
        foreach (var job in gone) End(job, new JobFailed("the client went away"));
    }

    /// <summary>
    /// The prefill thread: while the batch has room (running, prefilled and prefilling rows under the batch limit),
    /// takes the next waiting request, runs its prompt and hands the row to the model thread.
    /// </summary>
    void PrefillLoop()
    {
        using var noGrad = no_grad();
        while (true)
        {
            PurgeCancelled();
            lock (_gate) if (_prefillStop) return;
            if (TakeJob(backlogOnly: false) is not { } job)
            {
                _prefillWake.Wait(TimeSpan.FromMilliseconds(200));
                continue;
            }
            RunPrefill(job);
            Signal(_wake);
        }
    }

    /// <summary>
    /// The next waiting request, if the batch has room for it (running, prefilled and prefilling rows under the batch
    /// limit); with <paramref name="backlogOnly"/> (the model thread) only while another prompt is being prefilled.
    /// </summary>
    GenerationJob? TakeJob(bool backlogOnly)
    {
        lock (_gate)
        {
            if (backlogOnly && _prefillsRunning == 0) return null;
            if (_running + _ready.Count + _prefillsRunning >= _options.MaxBatch || !_pending.TryDequeue(out var job)) return null;
            _prefillsRunning++;
            _metrics.QueueDepth.Set(_pending.Count);
            return job;
        }
    }

    void RunPrefill(GenerationJob job)
    {
        try { Admit(job); }
        finally { lock (_gate) _prefillsRunning--; }
    }

    void Admit(GenerationJob job)
    {
        if (job.Cancellation.IsCancellationRequested) { End(job, new JobFailed("the client went away")); return; }
        DecodeRow? row = null;
        KvCache? cache = null;
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            _modelLock.EnterReadLock();
            try { (row, cache) = Prefill(job); }
            finally { _modelLock.ExitReadLock(); }
            Stats.Prefilled(System.Diagnostics.Stopwatch.GetElapsedTime(started));
            if (Accept(row, row.NextToken)) { cache.Dispose(); End(row, null); }
            else lock (_gate) _ready.Add((row, cache));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            cache?.Dispose();
            if (row is not null) End(row, new JobFailed($"generation failed: {e.Message}"));
            else End(job, new JobFailed($"generation failed: {e.Message}"));
        }
    }

    /// <summary>Prefilled rows join the batch (their keys and values copied into the batch cache) before the next step.</summary>
    void JoinReady()
    {
        List<(DecodeRow Row, KvCache Cache)> joining;
        lock (_gate)
        {
            if (_ready.Count == 0) return;
            joining = [.. _ready];
            _ready.Clear();
            _running += joining.Count;   // still counted against the batch limit while they join
        }
        var stay = new List<(DecodeRow Row, KvCache Cache)>(joining.Count);
        try
        {
            foreach (var (row, cache) in joining)
            {
                if (row.Job.Cancellation.IsCancellationRequested) End(row, new JobFailed("the client went away"));
                else stay.Add((row, cache));
            }
            if (stay.Count > 0)
            {
                _cache.Join(stay.Select(j => j.Cache).ToList());
                _rows.AddRange(stay.Select(j => j.Row));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // a join that failed part way leaves the batch cache in an unknown state, as a failed step does
            foreach (var (row, _) in stay) End(row, new JobFailed($"generation failed: {e.Message}"));
            foreach (var row in _rows) End(row, new JobFailed($"generation failed: {e.Message}"));
            _rows.Clear();
            _cache.Dispose();
        }
        finally
        {
            foreach (var (_, cache) in joining) cache.Dispose();
            SetRunning();
        }
    }

    /// <summary>Publishes the batch's size to the prefill thread (and wakes it: a slot may have come free) and the metrics.</summary>
    void SetRunning()
    {
        lock (_gate) _running = _rows.Count;
        _metrics.Running.Set(_rows.Count);
        Signal(_prefillWake);
    }

    /// <summary>Stops the prefill thread after its current prompt (a row it finishes still joins or ends in AbandonAll).</summary>
    void StopPrefills()
    {
        lock (_gate) _prefillStop = true;
        Signal(_prefillWake);
        _prefillThread.Join();
    }

    /// <summary>The prompt alone through the model (its adapter, its image), as generate's first step; returns the row with its first token.</summary>
    (DecodeRow Row, KvCache Cache) Prefill(GenerationJob job)
    {
        using var scope = NewDisposeScope();
        var device = _session.Device;
        var sampler = job.Sampling.Greedy ? null : new TokenSampler(
            new GenerationOptions(Temperature: job.Sampling.Temperature, TopP: job.Sampling.TopP, Seed: job.Sampling.Seed ?? Random.Shared.NextInt64()), device);
        var row = new DecodeRow(job, new TextStream(Decode, job.Stop, IsByteToken, TokenText), sampler, job.PromptIds.Length);
        var cache = new KvCache(_layers);
        using var routing = new RowAdapters([job.Adapter], device);
        LoraInjector.SetRowAdapters(_loraModules, routing);
        try
        {
            // an image prompt reads its adapter's saved modules (its own projector): held through the forward
            using var saved = job.Image is null ? null : _saved.Hold(job.Adapter);
            var pixels = job.Image is null ? null : _session.Pixels([job.Image]);
            var ids = tensor(job.PromptIds.Select(i => (long)i).ToArray(), [1, job.PromptIds.Length], device: device);
            var logits = _session.Model.Forward(ids, pixels, null, null, cache);   // [1, T, vocab]
            row.NextToken = Pick(row, logits.select(1, -1), greedy: null, 0);
        }
        catch
        {
            cache.Dispose();
            row.Dispose();
            throw;
        }
        finally { LoraInjector.SetRowAdapters(_loraModules, null); }
        _metrics.PromptTokens.WithLabels(job.Model).Inc(job.PromptIds.Length);
        return (row, cache);
    }

    void Step()
    {
        DropCancelled();
        if (_rows.Count == 0) return;
        using var scope = NewDisposeScope();
        var device = _session.Device;
        int b = _rows.Count;
        _cache.BeginStep();
        var ids = tensor(_rows.Select(r => (long)r.NextToken).ToArray(), [b, 1], device: device);
        var positions = tensor(_rows.Select(r => r.Position).ToArray(), [b, 1], device: device);
        var mask = _options.BatchInvariant ? null : _cache.StepMask(device);
        var perRow = _rows.Select(r => r.Job.Adapter).ToList();
        using var routing = new RowAdapters(perRow, device, computePerRow: _options.BatchInvariant);
        LoraInjector.SetRowAdapters(_loraModules, routing);
        Tensor logits;
        var forwardStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        try { logits = _session.Model.ForwardTokens(ids, positions, mask, _cache); }
        finally { LoraInjector.SetRowAdapters(_loraModules, null); }
        _cache.EndStep();
        Stats.Step(b, routing.Groups.Count);
        _metrics.BatchSize.Observe(b);

        var last = logits.select(1, -1);                                       // [B, vocab]
        long[]? greedy = _rows.Any(r => r.Sampler is null) ? last.argmax(-1).cpu().data<long>().ToArray() : null;
        Stats.Forwarded(System.Diagnostics.Stopwatch.GetElapsedTime(forwardStarted));
        var keep = new List<int>(b);
        for (int r = 0; r < b; r++)
        {
            var row = _rows[r];
            row.Position++;
            try
            {
                row.NextToken = Pick(row, last, greedy, r);
                if (Accept(row, row.NextToken)) End(row, null);
                else keep.Add(r);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                End(row, new JobFailed($"generation failed: {e.Message}"));   // this row only: the others go on
            }
        }
        Shrink(keep);
    }

    void DropCancelled()
    {
        var keep = new List<int>(_rows.Count);
        for (int r = 0; r < _rows.Count; r++)
        {
            if (_rows[r].Job.Cancellation.IsCancellationRequested) End(_rows[r], new JobFailed("the client went away"));
            else keep.Add(r);
        }
        Shrink(keep);
    }

    void Shrink(List<int> keep)
    {
        if (keep.Count == _rows.Count) return;
        _cache.Keep(keep);
        var kept = keep.Select(i => _rows[i]).ToList();
        _rows.Clear();
        _rows.AddRange(kept);
        SetRunning();
    }

    static int Pick(DecodeRow row, Tensor logits, long[]? greedy, int r)
    {
        if (row.Sampler is null) return (int)(greedy?[r] ?? logits.narrow(0, r, 1).argmax(-1).item<long>());
        using var next = row.Sampler.Next(logits.narrow(0, r, 1));
        return (int)next.item<long>();
    }

    /// <summary>Records a new token of a row; true when the row is done (stop string, end of sequence, max_tokens).</summary>
    bool Accept(DecodeRow row, int token)
    {
        var job = row.Job;
        if (row.Generated == 0)
        {
            _metrics.TimeToFirstToken.WithLabels(job.Model).Observe(job.Clock.Elapsed.TotalSeconds);
            row.SinceFirstToken.Start();
        }
        _metrics.GeneratedTokens.WithLabels(job.Model).Inc();
        var (piece, stopped) = row.Text.Push(token);
        if (piece.Length > 0) job.Emit(new TextPiece(piece));
        string? reason = stopped || (_stopIds.Contains(token) && !job.IgnoreEos) ? FinishReasons.Stop
            : row.Generated >= job.MaxTokens ? FinishReasons.Length : null;
        if (reason is null) return false;
        if (!stopped && row.Text.Finish() is { Length: > 0 } rest) job.Emit(new TextPiece(rest));
        job.Emit(new JobFinished(reason, job.PromptIds.Length, row.Text.Tokens.ToArray(), row.Text.Text));
        return true;
    }

    /// <summary>A row leaves: its failure (if any) is reported, its adapter released, its speed recorded.</summary>
    void End(DecodeRow row, JobFailed? failure)
    {
        var job = row.Job;
        if (failure is null && row.SinceFirstToken.Elapsed.TotalSeconds > 0 && row.Generated > 1)
            _metrics.DecodeTokensPerSecond.WithLabels(job.Model).Observe((row.Generated - 1) / row.SinceFirstToken.Elapsed.TotalSeconds);
        row.Dispose();
        End(job, failure);
    }

    void End(GenerationJob job, JobFailed? failure)
    {
        if (failure is not null) job.Emit(failure);
        _metrics.RequestDuration.WithLabels(job.Model).Observe(job.Clock.Elapsed.TotalSeconds);
        lock (_gate)
        {
            _accepted--;
            _registry.Release(job.Adapter);
        }
    }

    void AbandonAll(string reason)
    {
        StopPrefills();
        foreach (var row in _rows) End(row, new JobFailed(reason));
        _rows.Clear();
        _cache.Dispose();
        List<GenerationJob> waiting;
        List<(DecodeRow Row, KvCache Cache)> ready;
        lock (_gate)
        {
            waiting = _pending.ToList();
            _pending.Clear();
            ready = [.. _ready];
            _ready.Clear();
            _metrics.QueueDepth.Set(0);
        }
        foreach (var (row, cache) in ready)
        {
            cache.Dispose();
            End(row, new JobFailed(reason));
        }
        foreach (var job in waiting) End(job, new JobFailed(reason));
        SetRunning();
        RunCommands();   // a load or unload queued before the stop would otherwise wait forever
    }

    string Decode(IReadOnlyList<int> ids) => WithTokenizer(s => s.Tokenizer.Decode(ids, skipSpecialTokens: true));

    /// <summary>A token decoded alone (a pure function of the id: cached).</summary>
    string TokenText(int id) => _tokenTexts.GetOrAdd(id, i => Decode([i]));

    /// <summary>Sentencepiece's byte-fallback pieces ("&lt;0xE2&gt;"): their text depends on the bytes next to them.</summary>
    bool IsByteToken(int id) => _byteTokens.GetOrAdd(id, i => WithTokenizer(s => s.Tokenizer.IdToToken(i)) is { Length: 6 } p
        && p.StartsWith("<0x", StringComparison.Ordinal) && p[5] == '>');

    public void Dispose()
    {
        Stop(TimeSpan.Zero);
        _cache.Dispose();
        _saved.Dispose();
        _wake.Dispose();
        _prefillWake.Dispose();
        _modelLock.Dispose();
    }
}
