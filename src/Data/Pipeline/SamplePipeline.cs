using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using MultiLora.Data.Errors;
using MultiLora.Data.Images;
using MultiLora.Data.Model;

namespace MultiLora.Data.Pipeline;

/// <summary>
/// Turns conversations into training samples: validate -> encode -> load and decode the image -> preprocess.
/// <see cref="RunAsync"/> does this on <see cref="PipelineOptions.Workers"/> background tasks with at most
/// <see cref="PipelineOptions.Prefetch"/> samples in flight, and yields them in input order whatever the worker
/// timing (each input gets a slot in an ordered queue that its worker fills). Bad records follow their
/// dataset's on_error: fail throws "file#index: reason", skip counts them in <see cref="Errors"/>.
/// </summary>
public sealed class SamplePipeline
{
    readonly IConversationEncoder encoder;
    readonly Func<RgbImage, PixelTensor>? preprocess;
    readonly PipelineOptions options;

    /// <param name="preprocess">Image preprocessing (resize, normalise); may be null only for text-only data.</param>
    public SamplePipeline(IConversationEncoder encoder, Func<RgbImage, PixelTensor>? preprocess, PipelineOptions? options = null, DataErrorReport? errors = null)
    {
        this.encoder = encoder;
        this.preprocess = preprocess;
        this.options = options ?? new PipelineOptions();
        if (this.options.Workers < 1 || this.options.Prefetch < 1)
            throw new ArgumentException($"workers and prefetch must be at least 1, got {this.options.Workers} and {this.options.Prefetch}");
        Errors = errors ?? new DataErrorReport();
    }

    /// <summary>Records skipped so far (under on_error: skip), per kind; read it at the end of an epoch.</summary>
    public DataErrorReport Errors { get; }

    /// <summary>Processes one input on the calling thread; null when it was skipped.</summary>
    public TrainingSample? Process(PipelineInput input)
    {
        var conversation = input.Conversation;
        try
        {
            ConversationValidator.Validate(conversation);
            var encoded = Encode(conversation);
            if (options.MaxLength is int max && encoded.Length > max)
                throw new DataRecordException(DataErrorKind.TooLong, conversation.Origin, $"{encoded.Length} tokens exceed max_length {max}");
            PixelTensor? pixels = null;
            if (conversation.Image is { } source)
            {
                var image = ImageLoader.Load(source, input.ImageRoot, conversation.Origin);
                pixels = (preprocess ?? throw new InvalidOperationException($"{conversation.Origin}: the sample has an image but the pipeline has no image preprocessor"))(image);
            }
            return new TrainingSample(encoded, pixels, conversation.Origin);
        }
        catch (DataRecordException e)
        {
            new DataErrorPolicy(input.OnError, Errors).Handle(e);
            return null;
        }
    }

    EncodedSample Encode(Conversation conversation)
    {
        try { return encoder.Encode(conversation); }
        catch (Exception e) when (e is not OperationCanceledException and not DataRecordException)
        {
            throw new DataRecordException(DataErrorKind.EncoderRejected, conversation.Origin, $"encoder rejected the sample ({e.Message})", e);
        }
    }

    /// <summary>Blocking form of <see cref="RunAsync"/> for synchronous training loops.</summary>
    public IEnumerable<TrainingSample> Run(IEnumerable<PipelineInput> inputs) => RunAsync(inputs).ToBlockingEnumerable();

    /// <summary>
    /// One result per input, in input order: the sample, or null where the record was skipped. For callers that
    /// must know which input each sample came from (data-parallel training assigns inputs to micro-batches first).
    /// </summary>
    public IEnumerable<TrainingSample?> RunAligned(IEnumerable<PipelineInput> inputs) => RunAlignedAsync(inputs).ToBlockingEnumerable();

    /// <summary>Processes <paramref name="inputs"/> on background workers, yielding samples in input order.</summary>
    public async IAsyncEnumerable<TrainingSample> RunAsync(IEnumerable<PipelineInput> inputs, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await foreach (var sample in RunAlignedAsync(inputs, cancellation).ConfigureAwait(false))
            if (sample is not null) yield return sample;
    }

    async IAsyncEnumerable<TrainingSample?> RunAlignedAsync(IEnumerable<PipelineInput> inputs, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var token = stop.Token;
        var work = Channel.CreateBounded<(PipelineInput Input, TaskCompletionSource<TrainingSample?> Result)>(options.Prefetch);
        var ordered = Channel.CreateBounded<Task<TrainingSample?>>(options.Prefetch);
        ExceptionDispatchInfo? readError = null;

        // The producer enumerates the source (file reading happens here) and hands each input both a slot in
        // the ordered queue and a place in the work queue; a reader error ends the stream after the inputs before it.
        var producer = Task.Run(async () =>
        {
            try
            {
                foreach (var input in inputs)
                {
                    var result = new TaskCompletionSource<TrainingSample?>(TaskCreationOptions.RunContinuationsAsynchronously);
                    await ordered.Writer.WriteAsync(result.Task, token).ConfigureAwait(false);
                    await work.Writer.WriteAsync((input, result), token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { }
            catch (Exception e) { readError = ExceptionDispatchInfo.Capture(e); }
            finally
            {
                work.Writer.TryComplete();
                ordered.Writer.TryComplete();
            }
        }, token);

        var workers = Enumerable.Range(0, options.Workers).Select(_ => Task.Run(async () =>
        {
            await foreach (var (input, result) in work.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                try { result.SetResult(Process(input)); }
                catch (Exception e) { result.SetException(e); }
            }
        }, token)).ToArray();

        try
        {
            await foreach (var pending in ordered.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                yield return await pending.ConfigureAwait(false);
            }
            readError?.Throw();
        }
        finally
        {
            stop.Cancel();
            try { await Task.WhenAll([producer, .. workers]).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
    }
}
