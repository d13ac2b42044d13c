namespace MultiLora.Llava.Generation;

/// <summary>Decoding settings. Temperature 0 means greedy; top-k 0 and top-p 1 disable those filters.</summary>
public sealed record GenerationOptions(
    int MaxNewTokens = 128,
    double Temperature = 0,
    double TopP = 1.0,
    int TopK = 0,
    IReadOnlyCollection<int>? StopTokenIds = null,
    int PadTokenId = 0,
    long Seed = 0)
{
    public bool Greedy => Temperature <= 0;
}
