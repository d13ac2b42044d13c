using Microsoft.CodeAnalysis;

namespace MultiLora.Tools.ScalarScan;

/// <summary>
/// The only hand-written part of the list: what to call instead where the generated advice ("the overload
/// with every Scalar explicit") does not apply. Which members are banned is never decided here.
/// </summary>
static class Manual
{
    const string Scalars = "MultiLora.Core.Tensors.Scalars";

    public static string? Advice(IMethodSymbol m) => (m.ContainingType.Name, m.Name) switch
    {
        ("TensorExtensionMethods", var n) when n.StartsWith("To", StringComparison.Ordinal) && m.Parameters.Length == 1 => "read the value with item<T>() (no Scalar involved)",
        ("Tensor", "op_Explicit") => "read the value with item<T>() (no Scalar involved)",
        ("Tensor" or "torch", "square") => $"use t.pow({Scalars}.Of(2L)) (what square() computes)",
        ("Tensor", "tolist") => "read the values with data<T>()",
        ("torch", "arange") => $"call arange(Scalar start, Scalar stop, Scalar step, ...) with {Scalars}.Of(...) for every bound",
        _ => null,
    };

    public static string? OperatorAdvice(IMethodSymbol m)
    {
        if (m.MethodKind != MethodKind.UserDefinedOperator) return null;
        bool tensors = m.Parameters.All(p => p.Type.Name == "Tensor");
        return m.Name switch
        {
            "op_Addition" when tensors => $"call a.add(b, {Scalars}.One) (MultiLora: a.Plus(b))",
            "op_Addition" => $"call t.add({Scalars}.Of(x), {Scalars}.One)",
            "op_Subtraction" when m.Parameters[0].Type.Name == "Tensor" => $"call t.sub({Scalars}.Of(x))",
            "op_Subtraction" => $"call t.neg().add({Scalars}.Of(x), {Scalars}.One)",
            "op_Multiply" => $"call t.mul({Scalars}.Of(x))",
            "op_Division" when m.Parameters[0].Type.Name == "Tensor" => $"call t.div({Scalars}.Of(x))",
            "op_Division" => $"call t.reciprocal().mul({Scalars}.Of(x))",
            "op_Modulus" => $"call t.remainder({Scalars}.Of(x))",
            _ => null,
        };
    }

    public static string? TypeAdvice(INamedTypeSymbol type) => type.BaseType?.Name switch
    {
        "OptimizerHelper" or "Optimizer" => "use MultiLora's own optimizer (issue 15), whose step keeps every Scalar alive",
        _ => null,
    };
}
