"""What a simulation and a label review write and print: results files, tables and figures."""
