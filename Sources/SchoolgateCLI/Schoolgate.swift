import ArgumentParser

@main
struct Schoolgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schoolgate",
        abstract: "Content filter and monitoring proxy for schools.",
        subcommands: [CheckCommand.self, ListsCommand.self, ConfigCommand.self]
    )
}
