using MultiLora.Core.Tensors;
using System.Diagnostics;
using MultiLora.Core.Diagnostics;
using MultiLora.Core.Optim;
using MultiLora.Core.Runtime;
using MultiLora.Data.Errors;
using MultiLora.Data.Mixing;
using MultiLora.Data.Pipeline;
using MultiLora.Data.Specs;
using MultiLora.Data.Templates;
using MultiLora.Distributed;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>What a finished run leaves behind. FirstLoss/LastLoss are means over the first and last ten steps.</summary>
/// <param name="Rank">this process's rank (0 when alone): only rank 0 wrote the outputs</param>
public sealed record TrainResult(string OutputDir, string FinalDir, int Steps, double FirstLoss, double LastLoss, double Seconds, long PeakResidentBytes, DataErrorReport DataErrors, int Rank = 0, int WorldSize = 1);

/// <summary>A step whose loss is NaN or infinite: the run stops and names the step and the batch.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The training loop of both LLaVA stages: mixture -> global micro-batches of one modality (each rank decodes and
/// trains on its slice; one process is a world of one) -> token-loss sums / the step's global label tokens ->
/// backward -> gradients summed over ranks -> clip -> AdamW step at the scheduled learning rate.
/// Every step runs in its own dispose scope, so native memory stays flat. The host stays off a GPU's critical path:
/// the next batch's (pinned) host tensors are made on a background thread, the step reads nothing back, and losses
/// and gradient norms are read every read_every steps in one transfer (<see cref="PendingSteps"/>). Checkpoints
/// (atomic, rank 0) every
/// save_every steps and at the end; --resume continues from the newest one exactly (same data order,
/// optimizer moments, RNG), on this or another number of ranks (docs/distributed.md).
/// </summary>
public sealed class Trainer
{
    const int LossWindow = 10;
    readonly TrainRecipe _r;
    readonly ITrainingObserver _observer;
    readonly ICollectives _collectives;
    readonly LaunchEnvironment _launch;
    readonly string _device;

    Trainer(TrainRecipe recipe, ITrainingObserver observer, ICollectives collectives, LaunchEnvironment launch, string device)
    {
        _r = recipe;
        _collectives = collectives;
        _launch = launch;
        _device = device;
        // progress, messages and files come from rank 0 alone
        _observer = collectives.Rank == 0 ? observer : SilentObserver.Instance;
    }

    /// <summary>
    /// Trains in this process, or as one rank of the world a launcher (mpirun, srun, torchrun) started; an error on
    /// any rank is reported to the others (they stop at once, naming it) before it propagates.
    /// </summary>
    public static TrainResult Run(TrainRecipe recipe, ITrainingObserver observer, bool resume = false, CancellationToken ct = default)
    {
        TorchRuntime.EnsureLoaded();
        var launch = LaunchEnvironment.Detect();
        string device = launch.RankDevice(recipe.Device);
        using var collectives = Collectives.Start(recipe.Distributed.ParsedBackend, launch, TorchRuntime.ResolveDevice(device).type, recipe.Distributed.WatchdogOptions());
        try
        {
            return new Trainer(recipe, observer, collectives, launch, device).Run(resume, ct);
        }
        catch (Exception e)
        {
            collectives.Fail(e.Message);
            throw;
        }
    }

    TrainResult Run(bool resume, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        manual_seed(_r.Seed);
        string mixturePath = _r.Data.Mixture ?? throw new InvalidDataException("recipe: data.mixture (a dataset or mixture spec) is required");
        var source = RecipeSources.Model(_r);
        using var session = LlavaSession.Open(new SessionOptions(source, _device, _r.Dtype, _r.EffectiveTemplate(source.TokenizerDir),
            ModelSettings.ParseAspect(_r.Data.Aspect, "data.aspect"), _r.Data.Resolution, Quantize: TrainingSetup.Quantization(_r)));
        var model = session.Model;
        var trainable = TrainingSetup.Apply(model, _r);
        model.model.language_model.GradientCheckpointing = _r.GradientCheckpointing;
        model.train();
        var parallel = new DataParallel(_collectives, trainable, _r);
        bool writer = parallel.IsRankZero;

        using var optimizer = CreateOptimizer(trainable);
        var errors = new DataErrorReport();
        var mixture = MixtureSource.Load(RecipeSources.Mixture(_r), errors);
        var sampler = mixture.CreateSampler();
        if (sampler.EpochLength == 0) throw new InvalidDataException($"{mixturePath}: the mixture has no samples");
        var encoder = new ConversationEncoder(session.Template, session.Tokenizer, model.Config.ImageTokenId, session.ImageTokens, _r.Data.MaxLength);
        var pipeline = new SamplePipeline(encoder, session.Images.Process, new PipelineOptions { Workers = _r.Data.Workers, MaxLength = _r.Data.MaxLength }, errors);

        // rank 0 alone evaluates; the others go on to the next step's collectives and wait there
        var heldOut = writer && _r.Data.Eval is { } evalSpec && _r.EvalEvery > 0 ? HeldOutSamples(evalSpec, pipeline) : null;

        // one process with batch_size x world would see these micro-batches; each rank trains on its slice of each
        int globalMicroBatch = _r.BatchSize * parallel.WorldSize;
        int samplesPerStep = globalMicroBatch * _r.GradAccum;
        int stepsPerEpoch = (int)Math.Ceiling(sampler.EpochLength / (double)samplesPerStep);
        int totalSteps = _r.MaxSteps ?? _r.Epochs * stepsPerEpoch;
        var schedule = LrSchedule.Create(_r.Optim.Schedule, _r.Optim.WarmupRatio, totalSteps);

        var state = new TrainState(0, 0, 0, 0, null, parallel.WorldSize, globalMicroBatch);
        if (resume && CheckpointStore.Latest(_r.OutputDir) is { } latest)
        {
            state = CheckpointStore.Load(latest, trainable, optimizer);
            RequireSameDataOrder(state, latest, globalMicroBatch);
            if (state.RngStateBase64 is { } rng) set_rng_state(tensor(Convert.FromBase64String(rng)));
            _observer.Message($"resumed from {latest} at step {state.Step}{(state.WorldSize is > 0 and var w && w != parallel.WorldSize ? $" (written by {w} ranks, continuing on {parallel.WorldSize})" : "")}");
            state = state with { WorldSize = parallel.WorldSize, GlobalMicroBatch = globalMicroBatch };
        }
        parallel.BroadcastWeights(trainable);

        using var log = writer ? new MetricsLog(_r.OutputDir) : null;
        if (writer)
            File.WriteAllText(Path.Combine(_r.OutputDir, "recipe.yaml"), new YamlDotNet.Serialization.SerializerBuilder()
                .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.UnderscoredNamingConvention.Instance).Build().Serialize(_r));
        string ranks = parallel.WorldSize > 1 ? $", {parallel.WorldSize} ranks launched by {_launch.Launcher.ToString().ToLowerInvariant()} over {_collectives.Description}, global batch {samplesPerStep}" : "";
        _observer.Started($"stage {_r.Stage} {_r.EffectiveMethod.ToString().ToLowerInvariant()} on {source} ({_r.Dtype}, trained parameters {_r.EffectiveTrainableDtype}{ranks})", totalSteps, trainable.Count);

        // first/last loss reported as means over LossWindow steps (single steps swing with the batch's modality)
        double firstLoss = double.NaN, lastLoss = double.NaN;
        var recentLosses = new Queue<double>();
        // losses and gradient norms stay on the device until a read point (a GPU's queue is not drained every step);
        // the steps' other metrics wait for them in `unread`
        using var pending = new PendingSteps();
        var unread = new List<StepMetrics>();
        int readEvery = _r.EffectiveReadEvery(session.Device);
        void Report(List<PendingSteps.Read> reads)
        {
            foreach (var (read, partial) in reads.Zip(unread))
            {
                var metrics = partial with { Loss = read.Loss, GradNorm = read.GradNorm };
                recentLosses.Enqueue(metrics.Loss);
                if (recentLosses.Count > LossWindow) recentLosses.Dequeue();
                lastLoss = recentLosses.Average();
                if (double.IsNaN(firstLoss) && (recentLosses.Count == LossWindow || metrics.Step >= totalSteps)) firstLoss = lastLoss;
                if (metrics.EvalLoss is not null || (_r.LogEvery > 0 && (metrics.Step % _r.LogEvery == 0 || metrics.Step == totalSteps))) log?.Write(metrics);
                _observer.Step(metrics);
            }
            unread.Clear();
        }
        var stepClock = Stopwatch.StartNew();
        // a step's micro-batches, gathered first: the loss is divided by the label tokens of all of them (on all ranks)
        var micro = new List<PlannedBatch>(_r.GradAccum);
        long pendingEnd = state.InputsConsumed;
        var parameters = trainable.All.Select(p => p.Parameter).ToList();
        var heap = new HeapReleasePolicy(_r.ParsedReleaseMemory);
        heap.Start();
        bool pin = session.Device.type == DeviceType.CUDA;

        try
        {
            while (state.Step < totalSteps)
            {
                ct.ThrowIfCancellationRequested();
                var plan = GlobalBatches.Plan(EpochOrder(mixture, sampler, state.Epoch, globalMicroBatch), state.InputsConsumed, globalMicroBatch).ToList();
                using var mine = pipeline.RunAligned(plan.SelectMany(b => b.Slice(parallel.Rank, _r.BatchSize))).GetEnumerator();
                // this rank's slice of each global micro-batch, as (pinned) host tensors made on a background thread
                // while the previous one trains
                var prepared = plan.Select(global => PlannedBatch.Of(global.End, LocalBatch(mine, global.Slice(parallel.Rank, _r.BatchSize).Count),
                    batch => BatchTensors.Host(batch, session.Tokenizer.PadId, PixelType(model), model.Config.ImageTokenId, pin)));

                foreach (var planned in BatchPrefetch.Ahead(prepared))
                {
                    ct.ThrowIfCancellationRequested();
                    micro.Add(planned);
                    pendingEnd = planned.End;
                    if (micro.Count < _r.GradAccum) continue;

                    double factor = schedule.Factor(state.Step);
                    double lr = _r.Optim.Lr * factor;
                    int done = state.Step + 1;
                    bool evalDue = heldOut is not null && (done % _r.EvalEvery == 0 || done == totalSteps);
                    bool saveDue = _r.SaveEvery > 0 && done % _r.SaveEvery == 0;
                    var step = TrainStep(model, session, parallel, micro, done, pending);
                    DisposeAll(micro);
                    using (var norm = ClipGradients(parameters, session.Device)) pending.CloseStep(norm, payload: done);
                    // read points: every read_every steps, the last step, and before an evaluation or a checkpoint (so no
                    // checkpoint is written past an unchecked step); each read is checked before this step's update
                    var reads = done % readEvery == 0 || done == totalSteps || evalDue || saveDue ? pending.ReadAll() : null;
                    if (reads is not null) StopIfDiverged(reads);
                    OptimizerStep(optimizer, parameters, factor);
                    state = state with { Step = done, InputsConsumed = pendingEnd, TokensSeen = state.TokensSeen + step.Tokens };
                    unread.Add(StepMetricsNow(state, lr, step, evalDue ? HeldOutLoss(model, heldOut!, session) : null));
                    if (reads is not null) Report(reads);
                    stepClock.Restart();

                    if (saveDue && state.Step < totalSteps)
                        SaveCheckpoint(trainable, optimizer, state, model, parallel);
                    if (state.Step >= totalSteps) break;
                }
                if (state.Step >= totalSteps) break;
                // a partial gradient accumulation carries into the next epoch (no drop_last)
                state = state with { Epoch = state.Epoch + 1, InputsConsumed = 0 };
                log?.WriteEvent("epoch_end", new { epoch = state.Epoch, data_errors = errors.Total, first_errors = errors.Examples });
            }
        }
        finally { DisposeAll(micro); }
        Report(pending.ReadAll());   // nothing is left unread at the last step; kept for safety

        StepMetrics StepMetricsNow(TrainState at, double lr, StepTotals step, double? evalLoss)
        {
            long resident = MemoryProbe.ResidentBytes();
            if (heap.AfterStep(resident)) resident = MemoryProbe.ResidentBytes();   // inside the step's time: a release is part of its cost
            double seconds = Math.Max(1e-9, stepClock.Elapsed.TotalSeconds);
            // loss and gradient norm are filled in when the step is read (Report)
            return new StepMetrics(at.Step, totalSteps, at.Epoch, double.NaN, lr, double.NaN, step.Tokens / seconds, step.Samples / seconds,
                resident, MemoryProbe.PeakResidentBytes(), clock.Elapsed.TotalSeconds, evalLoss, step.Tokens, step.Samples, step.AllReducedBytes, step.CollectiveSeconds);
        }

        SaveCheckpoint(trainable, optimizer, state, model, parallel);
        string final = writer ? SaveFinal(session, trainable) : Path.Combine(_r.OutputDir, "final");
        log?.WriteEvent("finished", new { steps = state.Step, seconds = clock.Elapsed.TotalSeconds, data_errors = errors.Total, peak_rss_bytes = MemoryProbe.PeakResidentBytes() });
        if (errors.Total > 0) _observer.Message($"skipped {errors.Total} bad record(s): {string.Join("; ", errors.Examples.Take(3))}");
        return new TrainResult(_r.OutputDir, final, state.Step, firstLoss, lastLoss, clock.Elapsed.TotalSeconds, MemoryProbe.PeakResidentBytes(), errors, parallel.Rank, parallel.WorldSize);
    }

    /// <summary>This rank's samples of one global micro-batch (null when its slice is empty or every record was skipped).</summary>
    static Batch? LocalBatch(IEnumerator<TrainingSample?> aligned, int count)
    {
        var samples = new List<TrainingSample>(count);
        for (int i = 0; i < count; i++)
        {
            if (!aligned.MoveNext()) throw new InvalidOperationException("the sample pipeline ended before the batch plan");
            if (aligned.Current is { } sample) samples.Add(sample);
        }
        return samples.Count > 0 ? new Batch(samples) : null;
    }

    /// <summary>
    /// The grouping's batch size decides the epoch's order, so a checkpoint written with another global micro-batch
    /// points into a different order: refused (unless grouping is off, when the order does not depend on it).
    /// </summary>
    void RequireSameDataOrder(TrainState state, string checkpoint, int globalMicroBatch)
    {
        if (!_r.Data.GroupByModalityLength || state.GlobalMicroBatch is not > 0 || state.GlobalMicroBatch == globalMicroBatch) return;
        throw new InvalidDataException(
            $"{checkpoint}: written with a global micro-batch of {state.GlobalMicroBatch} (batch_size x {state.WorldSize} ranks), this run's is {globalMicroBatch} " +
            $"(batch_size {_r.BatchSize} x {_collectives.WorldSize} ranks): the modality grouping's order differs; keep batch_size x ranks = {state.GlobalMicroBatch} or set data.group_by_modality_length: false");
    }

    /// <summary>What one optimizer step trained on, summed over ranks (its loss waits on the device in <see cref="PendingSteps"/>).</summary>
    readonly record struct StepTotals(long Tokens, long Samples, long AllReducedBytes, double CollectiveSeconds);

    /// <summary>
    /// Forward and backward of a step's micro-batches on this rank, then the gradients summed over ranks. Each
    /// micro-batch back-propagates its token-loss sum divided by the label tokens of the whole global step, so the
    /// summed gradient is exactly that of one process training the whole global batch. The step's loss sum is
    /// summed over ranks on the device and read with the step (nothing is read back here).
    /// </summary>
    StepTotals TrainStep(Llava.Model.LlavaForConditionalGeneration model, LlavaSession session, DataParallel parallel, IReadOnlyList<PlannedBatch> micro, int step, PendingSteps pending)
    {
        long scored = parallel.Sum(micro.Sum(m => m.ScoredTokens));
        if (scored == 0)
            throw new InvalidDataException($"step {step}: no label tokens in the whole batch (every answer masked or truncated by data.max_length?)");
        var local = micro.Select(m => m.Host).OfType<BatchTensors>().ToList();
        using (var scope = NewDisposeScope())
        {
            var lossSum = zeros(1, ScalarType.Float64, session.Device);                  // this rank's token-loss sum, float64 [1]
            foreach (var batch in local) lossSum.add_(MicroStep(model, batch, session, scored, pending), Scalars.One);
            parallel.SumInPlace(lossSum);
            pending.SetStepLoss(lossSum, scored);
        }
        long bytes = parallel.ReduceGradients();
        var totals = parallel.Sum(local.Sum(b => (double)b.Tokens), local.Sum(b => (double)b.Samples));
        return new StepTotals((long)totals[0], (long)totals[1], bytes, parallel.TakeCollectiveSeconds());
    }

    /// <summary>This rank's part of one global micro-batch, as host tensors (null when its slice is empty or every record was skipped).</summary>
    sealed class PlannedBatch(long end, BatchTensors? host, long scoredTokens) : IDisposable
    {
        /// <summary>Inputs of the epoch consumed once this global micro-batch is trained.</summary>
        public long End => end;
        public BatchTensors? Host => host;
        /// <summary>Label tokens after the shift in this rank's samples (what the loss scores).</summary>
        public long ScoredTokens => scoredTokens;

        public static PlannedBatch Of(long end, Batch? batch, Func<Batch, BatchTensors> toHost) =>
            new(end, batch is null ? null : toHost(batch), batch?.Samples.Sum(s => CausalLmLoss.ScoredTokens(s.Encoded)) ?? 0);

        public void Dispose() => host?.Dispose();
    }

    static void DisposeAll(List<PlannedBatch> batches)
    {
        foreach (var b in batches) b.Dispose();
        batches.Clear();
    }

    /// <summary>
    /// One AdamW group per learning rate: the language model's (LoRA or full), the projector's, the vision tower's,
    /// in that order (the order TorchSharp's AdamW stored its state in, which old checkpoints' optimizer.bin follows).
    /// </summary>
    AdamW CreateOptimizer(TrainableParameters trainable)
    {
        var o = _r.Optim;
        var groups = new List<AdamWGroup>();
        foreach (var (parameters, lr) in new[] { (trainable.Rest, o.Lr), (trainable.Projector, ProjectorLr), (trainable.VisionTower, o.VisionLr ?? o.Lr) })
            if (parameters.Count > 0) groups.Add(new AdamWGroup(parameters, lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay));
        if (groups.Count == 0) throw new InvalidOperationException("nothing to train: the method left every parameter frozen");
        return new AdamW(groups);
    }

    /// <summary>Stage 2 trains the projector at its own learning rate (LLaVA's mm_projector_lr); stage 1 at the main one.</summary>
    double ProjectorLr => _r.EffectiveMethod == TrainMethod.Projector ? _r.Optim.Lr : _r.Optim.ProjectorLr ?? _r.Optim.Lr;

    /// <summary>
    /// The epoch's inputs in training order: the text-mix draws, then LLaVA's modality/length grouping with the global
    /// micro-batch as its batch size (the order one process with that batch size would use, whatever the world size).
    /// </summary>
    List<PipelineInput> EpochOrder(MixtureSource mixture, TextMixSampler sampler, int epoch, int globalMicroBatch)
    {
        var inputs = mixture.Epoch(sampler, epoch).ToList();
        if (!_r.Data.GroupByModalityLength) return inputs;
        var lengths = inputs.Select(i => ModalityLengthGrouping.ModalityLength(i.Conversation)).ToList();
        var order = ModalityLengthGrouping.GroupedIndices(lengths, globalMicroBatch, 1, new SeededRandom(_r.Seed, $"group/{epoch}"));
        return order.Select(i => inputs[i]).ToList();
    }

    /// <summary>Consecutive samples in batches that never mix image and text-only samples.</summary>
    static IEnumerable<Batch> ModalityBatches(IEnumerable<TrainingSample> samples, int size)
    {
        var current = new List<TrainingSample>(size);
        foreach (var s in samples)
        {
            if (current.Count > 0 && (current.Count == size || current[0].HasImage != s.HasImage))
            {
                yield return new Batch(current);
                current = new List<TrainingSample>(size);
            }
            current.Add(s);
        }
        if (current.Count > 0) yield return new Batch(current);
    }

    /// <summary>The first eval_samples samples of the held-out spec, prepared once.</summary>
    List<Batch> HeldOutSamples(string spec, SamplePipeline pipeline)
    {
        var mixture = MixtureSource.Load(SpecLoader.LoadMixture(spec), new DataErrorReport());
        var inputs = mixture.Main.Concat(mixture.TextOnly).Take(_r.Data.EvalSamples);
        var batches = ModalityBatches(pipeline.Run(inputs), _r.BatchSize).ToList();
        if (batches.Count == 0) throw new InvalidDataException($"{spec}: the held-out spec has no samples");
        return batches;
    }

    /// <summary>Mean token loss over the held-out batches, without gradients and in eval mode.</summary>
    double HeldOutLoss(Llava.Model.LlavaForConditionalGeneration model, List<Batch> batches, LlavaSession session)
    {
        model.eval();
        try
        {
            using var _ = no_grad();
            double weighted = 0;
            long tokens = 0;
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                using var t = BatchTensors.From(batch, session.Tokenizer.PadId, session.Device, PixelType(model));
                long scored = CausalLmLoss.ScoredTokens(t.Labels);
                weighted += CausalLmLoss.Compute(model.Forward(t.InputIds, t.Pixels), t.Labels).item<float>() * scored;
                tokens += scored;
            }
            return weighted / Math.Max(1, tokens);
        }
        finally { model.train(); }
    }

    /// <summary>Pixels go in the frozen tower's dtype (under mixed precision the trained parts may differ from it).</summary>
    static ScalarType PixelType(Llava.Model.LlavaForConditionalGeneration model) => model.model.vision_tower.parameters().First().dtype;

    /// <summary>
    /// Forward and backward of one micro-batch, its token-loss sum scaled by 1 / the step's global label tokens;
    /// returns the sum (float64 [1], on the device), also kept in <paramref name="pending"/> to name the batch if it
    /// is not finite. Nothing is read back: the image-token count (and the scored positions, for
    /// scored_logits_only) come with the host batch.
    /// </summary>
    Tensor MicroStep(Llava.Model.LlavaForConditionalGeneration model, BatchTensors host, LlavaSession session, long stepLabelTokens, PendingSteps pending)
    {
        using var scope = NewDisposeScope();
        using var onDevice = session.Device.type == DeviceType.CPU ? null : host.To(session.Device);
        var tensors = onDevice ?? host;
        var loss = _r.ScoredLogitsOnly
            ? CausalLmLoss.ComputeScored(model.HiddenStates(tensors.InputIds, tensors.Pixels, imageTokens: tensors.ImageTokens), model.lm_head, tensors.ScoredRows, tensors.ScoredTargets, nn.Reduction.Sum)
            : CausalLmLoss.Sum(model.Forward(tensors.InputIds, tensors.Pixels, imageTokens: tensors.ImageTokens), tensors.Labels);
        pending.AddMicroLoss(loss, host.Origins);
        // a text-only batch in stage 1 reaches no trained parameter (the projector sees no image): no gradient, so
        // this micro-batch moves nothing, as PyTorch leaves a parameter without a gradient (backward would refuse it);
        // under data parallelism such a gradient is zeros on this rank if another rank has one, absent if none has
        if (loss.requires_grad)
        {
            using var perToken = (1.0 / stepLabelTokens).ToScalar();   // changes every step: owned, alive through the call
            loss.mul(perToken).backward();
        }
        return loss.detach().to(ScalarType.Float64).reshape(1).MoveToOuterDisposeScope();
    }

    /// <summary>A NaN or infinite loss or gradient norm in the steps just read stops the run, naming the step and the batch.</summary>
    static void StopIfDiverged(List<PendingSteps.Read> reads)
    {
        foreach (var read in reads)
        {
            int step = (int)read.Payload!;
            foreach (var (loss, origins) in read.MicroBatches)
                if (double.IsNaN(loss) || double.IsInfinity(loss))
                    throw new TrainingDivergedException($"step {step}: loss is {loss} on the batch of {string.Join(", ", origins.Take(8))}");
            if (double.IsNaN(read.GradNorm) || double.IsInfinity(read.GradNorm))
                throw new TrainingDivergedException($"step {step}: gradient norm is {read.GradNorm}: stopping (no checkpoint is written past it)");
        }
    }

    /// <summary>
    /// Clip over the gradients that exist (max_grad_norm 0: only their norm), on the device: the total norm before
    /// clipping, not read back (0 when no parameter has a gradient, the projector on a stage-1 text-only step).
    /// </summary>
    Tensor ClipGradients(List<TorchSharp.Modules.Parameter> parameters, Device device) =>
        (_r.Optim.MaxGradNorm > 0 ? Gradients.ClipGradNormOnDevice(parameters, _r.Optim.MaxGradNorm) : Gradients.NormOnDevice(parameters))
        ?? zeros(1, dtype: ScalarType.Float32, device: device);

    /// <summary>
    /// AdamW at the scheduled rates, then gradients to none (PyTorch's zero_grad(set_to_none=True)): a parameter that
    /// gets no gradient in the next step (the projector on a text-only batch) is then left alone, as PyTorch leaves it,
    /// and a resumed process, whose parameters start without gradients, takes exactly the steps the uninterrupted one takes.
    /// </summary>
    void OptimizerStep(AdamW optimizer, List<TorchSharp.Modules.Parameter> parameters, double scheduleFactor)
    {
        optimizer.Step(optimizer.Groups.Select(g => g.Lr * scheduleFactor).ToList());
        Gradients.SetToNone(parameters);
    }

    /// <summary>Rank 0 writes; first every rank checks that the replicas still hold identical weights.</summary>
    void SaveCheckpoint(TrainableParameters trainable, AdamW optimizer, TrainState state, nn.Module model, DataParallel parallel)
    {
        parallel.RequireIdenticalReplicas(trainable, state.Step);
        if (!parallel.IsRankZero) return;
        using var rng = get_rng_state();
        var withRng = state with { RngStateBase64 = Convert.ToBase64String(rng.bytes.ToArray()) };
        string dir = CheckpointStore.Save(_r.OutputDir, trainable, optimizer, withRng, model, _r.Model.Path);
        _observer.Message($"checkpoint {dir}");
    }

    /// <summary>
    /// OUTPUT/final: a complete llava folder for projector and full training (usable as the next stage's
    /// model), or a peft adapter folder (with the projector as modules_to_save) for LoRA and QLoRA.
    /// </summary>
    string SaveFinal(LlavaSession session, TrainableParameters trainable)
    {
        string final = Path.Combine(_r.OutputDir, "final");
        var settings = new ModelSettings(session.Template.Name, _r.Data.Aspect, _r.Data.Resolution).ToJson();
        if (trainable.Lora is { } lora)
        {
            AtomicDirectory.Write(final, temp =>
            {
                PeftAdapter.Save(temp, session.Model, lora, _r.Model.Path);
                File.WriteAllText(Path.Combine(temp, ModelSettings.FileName), settings);
            });
        }
        else
        {
            LlavaSaver.Save(final, session.Model, session.Options.Source.CompanionDirs, extraFiles: new Dictionary<string, string> { [ModelSettings.FileName] = settings });
        }
        _observer.Message($"saved {final}");
        return final;
    }
}
