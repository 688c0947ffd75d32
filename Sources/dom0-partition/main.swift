import Dom0KitCLI

await Dom0KitMain.run(.dom0Partition, Array(CommandLine.arguments.dropFirst()))
