using System.Text.RegularExpressions;

namespace MultiLora.Lora.Surgery;

/// <summary>
/// peft's target_modules semantics: either a list of names, each matching a module whose path equals
/// it or ends with "." + it (so "q_proj" and "self_attn.q_proj" both work), or one regular expression
/// that must match the whole module path (re.fullmatch).
/// </summary>
public sealed record TargetModules
{
    public IReadOnlyList<string>? Names { get; }
    public string? Pattern { get; }
    readonly Regex? _regex;

    TargetModules(IReadOnlyList<string>? names, string? pattern)
    {
        Names = names;
        Pattern = pattern;
        if (pattern is not null)
        {
            try { _regex = new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw new ArgumentException($"target_modules regex '{pattern}' is not valid: {e.Message}"); }
        }
    }

    public static TargetModules FromNames(params string[] names)
    {
        if (names.Length == 0) throw new ArgumentException("target_modules: the list is empty");
        return new TargetModules(names.ToArray(), null);
    }

    public static TargetModules FromRegex(string pattern) => new(null, pattern);

    /// <summary>The projections of a Llama block, the usual QLoRA choice.</summary>
    public static TargetModules LlamaLinears { get; } =
        FromNames("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    public bool Matches(string modulePath) =>
        _regex is not null
            ? _regex.IsMatch(modulePath)
            : Names!.Any(n => modulePath == n || modulePath.EndsWith("." + n, StringComparison.Ordinal));

    public override string ToString() => Pattern ?? string.Join(",", Names!);
}
