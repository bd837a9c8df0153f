"""The partnership's needs assessment: aggregate where/when/ED/who/cost views (``svrisk needs``)."""
