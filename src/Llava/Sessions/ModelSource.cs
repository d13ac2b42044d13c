namespace MultiLora.Llava.Sessions;

/// <summary>
/// Where a model comes from: a llava checkpoint folder, or a composition of a CLIP tower, a Llama-family
/// LM and (optionally) projector weights; plus an optional adapter folder.
/// </summary>
public sealed record ModelSource(string? ModelDir = null, string? VisionDir = null, string? LanguageDir = null, string? ProjectorPath = null, string? AdapterDir = null)
{
    public bool IsComposition => ModelDir is null;

    public void Validate()
    {
        if (ModelDir is not null && (VisionDir is not null || LanguageDir is not null))
            throw new ArgumentException("give either --model DIR or --vision DIR with --language DIR, not both");
        if (ModelDir is null && (VisionDir is null || LanguageDir is null))
            throw new ArgumentException("no model: give --model DIR (a llava checkpoint) or --vision DIR and --language DIR (a CLIP and a Llama checkpoint)");
        foreach (var dir in new[] { ModelDir, VisionDir, LanguageDir, AdapterDir })
            if (dir is not null && !Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: folder not found");
    }

    /// <summary>Folders whose tokenizer/preprocessor/settings files a checkpoint written from this model carries over, in priority order.</summary>
    public IEnumerable<string> CompanionDirs => new[] { ModelDir, LanguageDir, VisionDir }.Where(d => d is not null).Select(d => d!);

    /// <summary>The folder holding the tokenizer: the llava folder, else the language model's.</summary>
    public string TokenizerDir => ModelDir ?? LanguageDir!;

    public override string ToString() => ModelDir ?? $"{VisionDir} + {LanguageDir}{(ProjectorPath is null ? "" : " + " + ProjectorPath)}";
}
