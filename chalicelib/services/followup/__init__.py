"""After the first answer: check-ins and satisfaction surveys, manager decisions, and the
automatic notices that tell a customer about them."""
