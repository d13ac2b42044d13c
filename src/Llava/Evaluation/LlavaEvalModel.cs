using MultiLora.Data.Images;
using MultiLora.Data.Model;
using MultiLora.Eval;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Sessions;

namespace MultiLora.Llava.Evaluation;

/// <summary>The harness's model seam over a <see cref="LlavaSession"/>: task prompts go through the session's template, greedy decoding.</summary>
public sealed class LlavaEvalModel(LlavaSession session, string describe) : IEvalModel
{
    public string Describe => describe;

    public IReadOnlyList<string> Generate(IReadOnlyList<EvalRequest> batch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var requests = batch.Select(r =>
        {
            var image = r.Image is null ? null : Decode(r.Image, r.SampleId);
            return (session.Prompt([], r.Prompt, image is not null), image);
        }).ToList();
        int maxNew = batch.Max(r => r.MaxNewTokens);
        return session.Generate(requests, new GenerationOptions(MaxNewTokens: maxNew));
    }

    static RgbImage Decode(ImageSource source, string sampleId) =>
        source.Bytes is { } bytes ? ImageDecoder.Decode(bytes, $"sample {sampleId}") : ImageDecoder.DecodeFile(source.Path!);
}
