using TorchSharp.Modules;

namespace MultiLora.Core.Optim;

/// <summary>
/// One parameter group of <see cref="AdamW"/>: its named parameters and hyperparameters, as a torch.optim param_group.
/// <see cref="Lr"/> is the group's peak learning rate; a scheduler passes each step's rate to <see cref="AdamW.Step(IReadOnlyList{double})"/>.
/// </summary>
public sealed record AdamWGroup(
    IReadOnlyList<(string Name, Parameter Parameter)> Parameters,
    double Lr,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Eps = 1e-8,
    double WeightDecay = 0.0);
